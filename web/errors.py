"""One place that maps errors to answers: the API gets ``{"error": {"code", "message",
"details"}}`` with the status of the error table (docs/api.md); screens get a page in the
app's style. Never a traceback: a bug is logged with its details and answered 500."""
from __future__ import annotations

import logging
import traceback
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from lpms.bootstrap import translate_db_error, write_crash_log
from lpms.domain.errors import LpmsError, ValidationFailed
from web.context import settings
from web.security import is_api_request

log = logging.getLogger("lpms.web")

# error category -> HTTP status (lpms/domain/errors.py's table)
STATUS = {"invalid_input": 400, "unauthorized": 401, "forbidden": 403, "not_found": 404, "conflict": 409,
          "infeasible": 422, "unavailable": 503, "internal": 500}
# HTTP status -> error code, for errors raised by Flask and the request parser
CODE_OF_STATUS = {400: "invalid_input", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                  405: "invalid_input", 409: "conflict", 413: "invalid_input", 415: "invalid_input",
                  422: "invalid_input", 503: "unavailable"}
TITLES = {400: "The request was not valid", 401: "Please log in", 403: "Not allowed", 404: "Not found",
          405: "Not allowed here", 409: "Conflict", 413: "Too large", 422: "Cannot do that",
          500: "Something went wrong", 503: "Unavailable"}


def status_of(err: LpmsError) -> int:
    return STATUS.get(err.category, 500)


def details_of(err: LpmsError) -> dict[str, Any]:
    if isinstance(err, ValidationFailed):
        return {"problems": err.problems}
    return {}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def json_error(status: int, code: str, message: str, details: dict[str, Any] | None = None,
               headers: dict[str, str] | None = None) -> Response:
    response = jsonify(error_body(code, message, details))
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="lpms"'
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def page(status: int, message: str, problems: list[str] | None = None) -> tuple[str, int]:
    return render_template("error.html", status=status, title=TITLES.get(status, "Error"), message=message,
                           problems=problems or []), status


def handle_lpms(err: LpmsError) -> Any:
    if err.category == "internal":
        return handle_bug(err)
    status = status_of(err)
    if is_api_request():
        return json_error(status, err.category, str(err).split("\n")[0], details_of(err))
    problems = err.problems if isinstance(err, ValidationFailed) else None
    return page(status, str(err).split("\n")[0], problems)


def handle_http(err: HTTPException) -> Any:
    status = err.code or 500
    if status >= 500:
        return handle_bug(err)
    if is_api_request():
        data = getattr(err, "data", None) or {}
        details: dict[str, Any] = {}
        if "messages" in data:
            details = {"fields": data["messages"]}
        message = data.get("message") or err.description or err.name
        if status == 401:
            message = "a valid API token is required: Authorization: Bearer TOKEN"
        if status == 422:
            message = "the request's fields are not valid (see details)"
            if request.content_length and not request.is_json and request.method in ("POST", "PUT", "PATCH"):
                message = ("the request's fields are missing: send the body as JSON with the header "
                           "Content-Type: application/json")
        if status == 400 and "json" in details.get("fields", {}):
            message = "the request body is not valid JSON (see details)"
        code = CODE_OF_STATUS.get(status, "invalid_input")
        allowed = getattr(err, "valid_methods", None)
        headers = {"Allow": ", ".join(allowed)} if status == 405 and allowed else None
        return json_error(status, code, str(message), details, headers)
    return page(status, err.description or err.name)


def handle_csrf(err: CSRFError) -> Any:
    return page(400, f"The form was not accepted ({err.description}). Reload the page and try again.")


def handle_bug(err: BaseException) -> Any:
    if isinstance(err, SQLAlchemyError):
        translated = translate_db_error(err, settings().resolved_database_url)
        if translated.category != "internal":
            return handle_lpms(translated)
    path = write_crash_log(settings(), "".join(traceback.format_exception(err)))
    log.error("internal error %s: %s (details in %s)", type(err).__name__, err, path)
    message = f"internal error ({type(err).__name__}); details were logged"
    if is_api_request():
        return json_error(500, "internal", message)
    return page(500, message)


def register(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(LpmsError, handle_lpms)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(SQLAlchemyError, handle_bug)
    app.register_error_handler(Exception, handle_bug)
