"""Every route declares its roles; nothing but the public routes answers without login; a
role a route does not declare is refused; form posts need the CSRF token; cookies are
HttpOnly and SameSite; the API wants a bearer token and uses no session."""
from __future__ import annotations

import re
import time
from typing import Any

from flask import Flask

from lpms.services import users
from tests.web.conftest import NOW, ROLES, Client, Plant, api_headers
from web import create_app

PUBLIC = {"auth.login", "static", "auth.healthz", "api-docs.openapi_json", "api_docs_page"}
SAMPLE = {"wc": "WC-X", "number": "NOPE-1", "seq": 10, "run_id": 999999, "run_a": 999998, "run_b": 999999, "what": "load", "job_id": "nope",
          "token_id": 999999, "username": "nobody", "report_id": 999999, "filename": "lpms.css"}


def _url(app: Flask, rule: Any) -> str:
    with app.test_request_context():
        from flask import url_for

        values: dict[str, Any] = {k: SAMPLE[k] for k in rule.arguments}
        return url_for(rule.endpoint, **values)


def _rules(app: Flask) -> list[tuple[Any, str]]:
    return [(rule, method) for rule in app.url_map.iter_rules()
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})]


def test_every_route_declares_roles_or_is_one_of_the_public_ones(plant: Plant) -> None:
    undeclared, public = [], set()
    for rule, _ in _rules(plant.app):
        view = plant.app.view_functions[rule.endpoint]
        if getattr(view, "lpms_public", False):
            public.add(rule.endpoint)
        elif not getattr(view, "lpms_roles", None):
            undeclared.append(rule.endpoint)
    assert undeclared == []
    assert public == PUBLIC


def test_no_route_but_the_public_ones_answers_without_login_or_to_an_undeclared_role(plant: Plant) -> None:
    app = create_app(plant.settings, database=plant.database, testing=True)
    app.config["WTF_CSRF_ENABLED"] = False  # so a refused POST is refused by the role check, not the token
    checked = 0
    clients = {role: Client(app, role) for role in ROLES}
    # logging out ends the session the later checks use: it goes last
    for rule, method in sorted(_rules(app), key=lambda rm: rm[0].endpoint == "auth.logout"):
        if rule.endpoint in PUBLIC:
            continue
        url = _url(app, rule)
        declared = getattr(app.view_functions[rule.endpoint], "lpms_roles")  # noqa: B009 - set by web.security.roles
        api = url.startswith("/api/")
        anonymous = app.test_client().open(url, method=method)
        if api:
            assert anonymous.status_code == 401, (method, url, anonymous.status_code)
            assert anonymous.json["error"]["code"] == "unauthorized"
        else:
            assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"], (method, url)
        for role in ROLES:
            if api:
                response = app.test_client().open(url, method=method, headers=api_headers(plant, role), json={})
            else:
                response = clients[role].http.open(url, method=method)
            if role in declared:
                assert response.status_code not in (401, 403), (role, method, url, response.status_code)
            else:
                assert response.status_code == 403, (role, method, url, response.status_code)
            checked += 1
    assert checked > 200


def test_public_routes_answer_without_login(plant: Plant) -> None:
    http = plant.app.test_client()
    assert http.get("/login").status_code == 200
    assert http.get("/healthz").json == {"status": "ok", "database": "at head"}
    css = http.get("/static/lpms.css")
    assert css.status_code == 200 and b"min-height: 44px" in css.data
    css.close()
    spec = http.get("/api/v1/openapi.json")
    assert spec.status_code == 200 and spec.json["openapi"].startswith("3.")
    assert "/api/v1/reports/completions" in spec.json["paths"]
    docs = http.get("/api/v1/docs").get_data(as_text=True)
    assert "/api/v1/work-orders" in docs and "cdn" not in docs.lower()


def test_a_form_post_without_the_csrf_token_is_refused_and_changes_nothing(plant: Plant) -> None:
    admin = Client(plant.app, "admin")
    before = [u.username for u in users.list_users(plant.uow())]
    response = admin.post("/admin/users", {"username": "mallory", "role": "admin", "password": "longpassword1"},
                          csrf=False)
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert [u.username for u in users.list_users(plant.uow())] == before
    # the same post with the token is accepted
    admin.post("/admin/users", {"username": "mallory", "role": "planner", "password": "longpassword1"})
    assert "mallory" in [u.username for u in users.list_users(plant.uow())]


def test_session_cookie_is_httponly_and_samesite(plant: Plant) -> None:
    client = Client(plant.app)
    response = client.login("planner", "planner-secret-1")
    assert response.status_code == 302
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_wrong_password_and_inactive_user_cannot_log_in(plant: Plant) -> None:
    client = Client(plant.app)
    assert client.login("planner", "wrong-password").status_code == 401
    users.add_user(plant.uow(), "gone", "planner", "gone-password-1", actor="test", now=NOW)
    users.update_user(plant.uow(), "gone", active=False, actor="test", now=NOW)
    assert client.login("gone", "gone-password-1").status_code == 401
    assert client.get("/plan/").status_code == 302


def test_login_redirects_only_to_local_pages(plant: Plant) -> None:
    client = Client(plant.app)
    page = client.get("/login?next=https://evil.example/")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)
    response = client.http.post("/login?next=https://evil.example/", data={
        "username": "planner", "password": "planner-secret-1", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/plan/"


def test_api_wants_a_valid_token_and_sets_no_session_cookie(plant: Plant) -> None:
    http = plant.app.test_client()
    for headers in ({}, {"Authorization": "Bearer lpms_not-a-token"}, {"Authorization": "Basic abc"}):
        response = http.get("/api/v1/items", headers=headers)
        assert response.status_code == 401
        assert set(response.json["error"]) == {"code", "message", "details"}
    ok = http.get("/api/v1/items", headers=api_headers(plant, "planner"))
    assert ok.status_code == 200 and ok.json
    assert not [h for h in ok.headers.getlist("Set-Cookie") if h.startswith("session=")]
    # a logged-in browser session does not open the API
    client = Client(plant.app, "admin")
    assert client.get("/api/v1/items").status_code == 401


def test_a_revoked_token_is_refused(plant: Plant) -> None:
    new = users.create_token(plant.uow(), "manager", name="temp", actor="test", now=NOW)
    http = plant.app.test_client()
    assert http.get("/api/v1/items", headers={"Authorization": f"Bearer {new.secret}"}).status_code == 200
    users.revoke_token(plant.uow(), new.record.id, actor="test", now=NOW)
    # revoked elsewhere (lpms users revoke): the server trusts a checked token for a few seconds
    plant.app.extensions["lpms_tokens"].clear()  # ... that have passed
    assert http.get("/api/v1/items", headers={"Authorization": f"Bearer {new.secret}"}).status_code == 401


def test_a_token_revoked_on_the_admin_screen_is_refused_at_once(plant: Plant) -> None:
    new = users.create_token(plant.uow(), "manager", name="temp", actor="test", now=NOW)
    http = plant.app.test_client()
    bearer = {"Authorization": f"Bearer {new.secret}"}
    assert http.get("/api/v1/items", headers=bearer).status_code == 200
    admin = Client(plant.app, "admin")
    admin.post(f"/admin/tokens/{new.record.id}/revoke", data={})
    assert http.get("/api/v1/items", headers=bearer).status_code == 401


def test_the_token_cache_keeps_only_valid_tokens_for_its_time(plant: Plant) -> None:
    from web.security import TokenCache

    new = users.create_token(plant.uow(), "manager", name="temp", actor="test", now=NOW)
    with plant.app.app_context():
        cache = TokenCache(0.2)
        assert cache.get(new.secret) is not None
        users.revoke_token(plant.uow(), new.record.id, actor="test", now=NOW)
        assert cache.get(new.secret) is not None  # still trusted within its time
        time.sleep(0.25)
        assert cache.get(new.secret) is None
        assert cache.get(new.secret + "x") is None and cache.get(new.secret) is None


def test_error_pages_are_in_the_apps_style_without_traceback(plant: Plant) -> None:
    client = Client(plant.app, "planner")
    response = client.get("/plan/runs/999999")
    assert response.status_code == 404
    text = response.get_data(as_text=True)
    assert "404" in text and "plan run 999999" in text and "Traceback" not in text
    assert client.get("/no/such/page").status_code == 404
