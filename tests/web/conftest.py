"""Fixtures of the web tests: a demo plant (loaded, planned, approved, released) per test
module, one user and one API token per role, and a test client that logs in and sends the
CSRF token like a browser does."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from lpms.bootstrap import Database, open_database, solver_options
from lpms.db import migrate
from lpms.domain.enums import Role
from lpms.services import users
from lpms.services.demo import load_demo
from lpms.services.plan_runs import PlanRequest, run_plan
from lpms.services.release import approve_plan_run, release_work_orders
from lpms.settings import Settings
from tests.conftest import DatabaseFactory
from web import create_app

NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
PASSWORD = {r.value: f"{r.value}-secret-1" for r in Role}
ROLES = tuple(r.value for r in Role)
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class Plant:
    settings: Settings
    database: Database
    app: Flask
    tokens: dict[str, str]
    run_id: int

    def uow(self) -> Any:
        return self.database.uow()


def make_settings(url: str, instance: Path, **extra: Any) -> Settings:
    return Settings(instance_dir=instance, database_url=url, secret_key="test-secret-key-for-the-web-tests",
                    as_of=NOW.isoformat(), solver_time_limit_s=60.0, **extra)


def build_plant(db_factory: DatabaseFactory, instance: Path, *, release: bool = True) -> Plant:
    url = db_factory.new_url()
    migrate.upgrade(url)
    settings = make_settings(url, instance)
    database = open_database(settings)
    load_demo(database.uow(), actor="test", now=NOW, timezone=settings.timezone,
              horizon_periods=settings.horizon_periods)
    run = run_plan(database.uow(), PlanRequest(), options=solver_options(settings), actor="test", now=NOW)
    if release:
        approve_plan_run(database.uow(), run.run_id, actor="test", now=NOW)
        release_work_orders(database.uow(), fence_periods=2, actor="test", now=NOW, timezone=settings.timezone)
    tokens = {}
    for role in ROLES:
        users.add_user(database.uow(), role, role, PASSWORD[role], display_name=f"Test {role}", actor="test", now=NOW)
        tokens[role] = users.create_token(database.uow(), role, name="tests", actor="test", now=NOW).secret
    app = create_app(settings, database=database, testing=True)
    return Plant(settings, database, app, tokens, run.run_id)


@pytest.fixture(scope="module")
def plant(db_factory: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plant]:
    p = build_plant(db_factory, tmp_path_factory.mktemp("instance"))
    yield p
    p.database.dispose()


class Client:
    """A logged-in test client that sends the page's CSRF token with every form post."""

    def __init__(self, app: Flask, role: str | None = None) -> None:
        self.http: FlaskClient = app.test_client()
        self.token = ""
        if role is not None:
            self.login(role, PASSWORD[role])

    def login(self, username: str, password: str) -> TestResponse:
        page = self.http.get("/login")
        token = CSRF.search(page.get_data(as_text=True))
        assert token or not self.http.application.config.get("WTF_CSRF_ENABLED", True), "no CSRF token on /login"
        response = self.http.post("/login", data={"username": username, "password": password,
                                                  "csrf_token": token.group(1) if token else ""})
        self.refresh_token()
        return response

    def refresh_token(self, url: str = "/login") -> None:
        match = CSRF.search(self.http.get(url, follow_redirects=True).get_data(as_text=True))
        self.token = match.group(1) if match else ""

    def get(self, url: str, **kw: Any) -> TestResponse:
        return self.http.get(url, **kw)

    def post(self, url: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kw: Any) -> TestResponse:
        body = dict(data or {})
        if csrf:
            body.setdefault("csrf_token", self.token)
        return self.http.post(url, data=body, **kw)

    def text(self, url: str) -> str:
        response = self.get(url)
        assert response.status_code == 200, (url, response.status_code, response.get_data(as_text=True)[:500])
        return response.get_data(as_text=True)


def api_headers(plant: Plant, role: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {plant.tokens[role]}", **extra}
