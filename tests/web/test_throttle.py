"""Failed-login throttling: 5 failures for a user name or from an address within 15 minutes
pause logging in for it for 15 minutes, with the same answer whether the user exists or not; a
successful login resets; the clock is the app's (moved here through the ``as_of`` setting)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re

from flask import Flask
from flask.testing import FlaskClient

from tests.web.conftest import CSRF, NOW, PASSWORD, Plant
from web import create_app
from web.throttle import LoginThrottle

MIN = dt.timedelta(minutes=1)


# --- the throttle on its own, time passed in ---------------------------------------------


def test_the_fifth_failure_within_the_window_locks_the_name_for_the_lockout() -> None:
    t = LoginThrottle()
    for k in range(4):
        assert t.failed("ann", "10.0.0.1", NOW + k * MIN) is None
        assert t.refused_until("ann", "10.0.0.1", NOW + k * MIN) is None
    until = t.failed("Ann ", "10.0.0.2", NOW + 4 * MIN)  # the name counts case- and space-insensitively
    assert until == NOW + 19 * MIN
    assert t.refused_until("ann", "10.0.0.9", NOW + 5 * MIN) == until  # from any address
    assert t.refused_until("ann", "10.0.0.9", NOW + 19 * MIN - dt.timedelta(seconds=1)) == until
    assert t.refused_until("ann", "10.0.0.9", NOW + 19 * MIN) is None
    assert t.refused_until("bob", "10.0.0.9", NOW + 5 * MIN) is None  # other names are not affected
    # after the lockout the count starts again
    assert t.failed("ann", "10.0.0.3", NOW + 20 * MIN) is None


def test_failures_older_than_the_window_do_not_count() -> None:
    t = LoginThrottle()
    for k in range(4):
        t.failed("ann", f"10.0.0.{k}", NOW + k * MIN)
    # the first failure (NOW) is 15 minutes old at NOW + 15 min: four count, no lock
    assert t.failed("ann", "10.0.0.9", NOW + 15 * MIN) is None
    assert t.failed("ann", "10.0.0.9", NOW + 15 * MIN + dt.timedelta(seconds=1)) is not None


def test_an_address_trying_many_names_is_locked() -> None:
    t = LoginThrottle()
    for k in range(5):
        until = t.failed(f"guess{k}", "10.0.0.66", NOW)
    assert until == NOW + 15 * MIN
    assert t.refused_until("ann", "10.0.0.66", NOW + MIN) == until  # even a real user's login from there
    assert t.refused_until("ann", "10.0.0.1", NOW + MIN) is None  # ... but not from elsewhere


def test_a_successful_login_resets_the_name_and_its_failures_from_the_address() -> None:
    t = LoginThrottle()
    for k in range(4):
        t.failed("ann", "10.0.0.5", NOW + k * MIN)
    t.succeeded("ANN", "10.0.0.5")
    for k in range(4):
        assert t.failed("ann", "10.0.0.5", NOW + (5 + k) * MIN) is None
    # another name's failures from the shared address are not cleared by ann's success
    t2 = LoginThrottle()
    for k in range(4):
        t2.failed(f"guess{k}", "10.0.0.5", NOW)
    t2.succeeded("ann", "10.0.0.5")
    assert t2.failed("guess9", "10.0.0.5", NOW) is not None


def test_memory_is_bounded_under_a_spray_of_names() -> None:
    t = LoginThrottle(max_keys=100)
    for k in range(1000):
        t.failed(f"n{k}", f"10.1.{k // 250}.{k % 250}", NOW + k * dt.timedelta(seconds=1))
    assert len(t) <= 100
    for _ in range(5):
        t.failed("ann", "10.9.9.9", NOW + 1000 * dt.timedelta(seconds=1))
    assert t.refused_until("ann", "10.2.2.2", NOW + 1001 * dt.timedelta(seconds=1)) is not None


# --- through the login screen, on the app's clock ----------------------------------------


class Browser:
    """A test client from one address that posts the login form with its CSRF token."""

    def __init__(self, app: Flask, address: str) -> None:
        self.http: FlaskClient = app.test_client()
        self.http.environ_base["REMOTE_ADDR"] = address

    def login(self, username: str, password: str) -> tuple[int, str, dict[str, str]]:
        token = CSRF.search(self.http.get("/login").get_data(as_text=True))
        assert token
        r = self.http.post("/login", data={"username": username, "password": password, "csrf_token": token.group(1)})
        text = r.get_data(as_text=True)
        error = re.search(r'<p class="error" role="alert">([^<]*)</p>', text)
        return r.status_code, error.group(1) if error else "", dict(r.headers)


def _at(app: Flask, when: dt.datetime) -> None:
    """Move the app's clock: the request's now is the ``as_of`` setting when it is set."""
    ctx = app.extensions["lpms"]
    ctx.settings = dataclasses.replace(ctx.settings, as_of=when.isoformat())


def test_login_screen_pauses_a_user_name_after_five_failures_and_says_so_the_same_for_unknown_names(
        plant: Plant) -> None:
    app = create_app(plant.settings, database=plant.database, testing=True)
    _at(app, NOW)
    b = Browser(app, "10.0.1.1")
    for _ in range(4):
        status, error, _h = b.login("planner", "wrong-password")
        assert (status, error) == (401, "Unknown user name or wrong password.")
    status, error, headers = b.login("planner", "wrong-password")
    assert status == 429 and "Too many failed logins" in error and "15 minutes" in error
    assert headers["Retry-After"] == "900"
    # the right password is refused as well while paused, from any address
    status, refused, _h = Browser(app, "10.0.1.2").login("planner", PASSWORD["planner"])
    assert status == 429 and refused == error
    assert b.http.get("/plan/").status_code == 302  # not logged in
    # an unknown user name gets the very same answers
    u = Browser(app, "10.0.1.3")
    answers = [u.login("nobody-here", "wrong-password")[:2] for _ in range(6)]
    assert answers[:4] == [(401, "Unknown user name or wrong password.")] * 4
    assert answers[4] == answers[5] == (429, error)
    # ten minutes later: still paused, with the time left
    _at(app, NOW + 10 * MIN)
    status, later, _h = b.login("planner", PASSWORD["planner"])
    assert status == 429 and "Try again in 5 minutes." in later
    # when the pause is over the right password works
    _at(app, NOW + 15 * MIN)
    status, _e, headers = b.login("planner", PASSWORD["planner"])
    assert status == 302 and headers["Location"] == "/plan/"


def test_login_screen_pauses_an_address_trying_many_names_and_a_success_resets(plant: Plant) -> None:
    app = create_app(plant.settings, database=plant.database, testing=True)
    _at(app, NOW)
    spray = Browser(app, "10.0.2.66")
    for k in range(5):
        spray.login(f"guess{k}", "wrong-password")
    status, error, _h = spray.login("manager", PASSWORD["manager"])
    assert status == 429 and "Too many failed logins" in error
    assert Browser(app, "10.0.2.1").login("manager", PASSWORD["manager"])[0] == 302  # another device
    # a supervisor who mistypes four times and then gets it right starts again from zero
    tablet = Browser(app, "10.0.2.20")
    for _ in range(4):
        assert tablet.login("supervisor", "typo")[0] == 401
    assert tablet.login("supervisor", PASSWORD["supervisor"])[0] == 302
    token = CSRF.search(tablet.http.get("/floor/").get_data(as_text=True))
    assert token
    tablet.http.post("/logout", data={"csrf_token": token.group(1)})
    for _ in range(4):
        assert tablet.login("supervisor", "typo")[0] == 401
    assert tablet.login("supervisor", PASSWORD["supervisor"])[0] == 302
