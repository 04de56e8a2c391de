"""What the WhatsApp Cloud API and the Messenger Platform share, being both Meta's Graph
API: access tokens, the Graph error shape, JSON bodies, and X-Hub-Signature-256."""

from __future__ import annotations

import json
import secrets
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from threadline.adapters.providers.signing import meta_signature
from threadline.fakeprovider.core import ErrorShape, FakeCore
from threadline.fakeprovider.webhooks import Webhook

# The Graph API's own codes for failures that are not about the request.
_GRAPH_CODES: dict[int, tuple[int, str]] = {
    400: (100, "(#100) Invalid parameter"),
    401: (190, "Invalid OAuth access token - Cannot parse access token"),
    403: (10, "(#10) Application does not have permission for this action"),
    500: (1, "An unknown error has occurred."),
    503: (2, "Service temporarily unavailable"),
}


def graph_error(
    code: int,
    message: str,
    *,
    subcode: int | None = None,
    details: str | None = None,
    whatsapp: bool = False,
) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if details is not None:
        # The Cloud API explains a refused send in error_data.
        error["error_data"] = (
            {"messaging_product": "whatsapp", "details": details} if whatsapp else details
        )
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)[:22]
    return {"error": error}


def error_shape_for(rate_limit: tuple[int, str]) -> ErrorShape:
    """A provider's error bodies: Graph's codes, and its own for being rate limited."""

    def shape(status: int) -> dict[str, Any]:
        if status == 429:
            code, message = rate_limit
        else:
            code, message = _GRAPH_CODES.get(status, (1, HTTPStatus(status).phrase))
        return graph_error(code, message)

    return shape


def refuse(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def invalid(message: str, details: str | None = None, *, whatsapp: bool = False) -> JSONResponse:
    return refuse(400, graph_error(100, message, details=details, whatsapp=whatsapp))


def authorize(core: FakeCore, request: Request, *, query_token: bool) -> Response | None:
    """A Graph access token, as a Bearer header or (Messenger) the access_token parameter."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    given = token if scheme.lower() == "bearer" else None
    if given is None and query_token:
        given = request.query_params.get("access_token")
    if given is None or given not in core.accounts.meta_access_tokens:
        return refuse(401, graph_error(190, _GRAPH_CODES[401][1]))
    return None


def signed(core: FakeCore, kind: str, path: str, payload: dict[str, Any]) -> Webhook:
    """Meta escapes non-ASCII characters in webhook bodies, and signs those exact bytes."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode()
    return Webhook(
        kind=kind,
        url=core.accounts.webhook_url(path),
        body=body,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": meta_signature(body, core.accounts.meta_app_secret),
        },
    )


def epoch_ms(core: FakeCore) -> int:
    return int(core.now().timestamp() * 1000)
