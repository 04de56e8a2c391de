"""One error shape for every failure: {"error": {"code", "message", "details"}}.

Clients branch on `code`, which is stable; `message` is for people.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from threadline.core import errors as domain
from threadline.service.unit_of_work import CommitFailed

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = {}


class ErrorBody(BaseModel):
    error: ErrorDetail


_STATUS: list[tuple[type[domain.DomainError], int]] = [
    (domain.Unauthenticated, 401),
    (domain.NotFound, 404),
    (domain.Forbidden, 403),
    (domain.Conflict, 409),
    (domain.InvalidTransition, 409),
    (domain.InvalidInput, 422),
    (domain.Unavailable, 503),
]

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "body_too_large",
    415: "unsupported_media_type",
}


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": jsonable_encoder(details or {})}}
    return JSONResponse(body, status_code=status, headers=headers)


def status_for(exc: domain.DomainError) -> int:
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 400


async def _domain(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, domain.DomainError)
    status = status_for(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return error_response(status, exc.code, exc.message, exc.details, headers=headers)


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"loc": list(e.get("loc", ())), "type": e.get("type"), "msg": e.get("msg")}
        for e in exc.errors()
    ]
    if any(p["type"] == "json_invalid" for p in problems):
        return error_response(
            400, "malformed_json", "the request body is not valid JSON", {"errors": problems}
        )
    return error_response(
        422, "validation_error", "the request does not match the schema", {"errors": problems}
    )


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError | RecursionError):
        # FastAPI's own body parsing failed before validation: bytes that are not UTF-8,
        # nesting too deep, an integer too long to convert. All are malformed JSON.
        return error_response(400, "malformed_json", "the request body is not valid JSON")
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))


async def _integrity(_: Request, exc: Exception) -> JSONResponse:
    # Reached only when a unique key lost a race three times in a row.
    log.warning("integrity conflict: %s", exc)
    return error_response(409, "conflict", "the change conflicts with existing data; retry")


async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", exc)
    return error_response(
        503,
        "unavailable",
        "the database is busy or the commit's outcome is unknown; retry the request",
        headers={"Retry-After": "1"},
    )


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")


def install(app: FastAPI) -> None:
    app.add_exception_handler(domain.DomainError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(CommitFailed, _unavailable)
    app.add_exception_handler(OperationalError, _unavailable)
    app.add_exception_handler(Exception, _unexpected)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in [
        (400, "Malformed request"),
        (401, "Missing or invalid token"),
        (403, "Not allowed for this role"),
        (404, "Unknown id"),
        (409, "Conflicts with the current state"),
        (413, "Body too large"),
        (422, "Invalid input"),
    ]
}
