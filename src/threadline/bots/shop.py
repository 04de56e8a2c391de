"""The demo's business system: a small shop's order records, the gateway that would
text a customer their step-up code, and a payment endpoint. The demo inbox's flow
(demo_flow.yaml) looks orders up here and delivers codes here; it is a stand-in for a
business's real back end, kept in memory and served on loopback only.

When the shop has a secret, every request must carry Threadline's signature (the
check a real business makes, adapters.bots.signing).
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import re
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from threadline.adapters.bots.signing import SIGNATURE_HEADER, received_target, verify
from threadline.adapters.loopback import serve_on_loopback
from threadline.core.bots.fields import luhn_valid

log = logging.getLogger(__name__)

DEMO_PORT = 8765
# Codes kept for GET /codes: the demo's recent ones, not a record.
_KEPT_CODES = 100
_EXPIRY = re.compile(r"(\d{1,2})\s*[/-]\s*(\d{4}|\d{2})")
_MAX_ADDRESS = 500

SEEDED_ORDERS: dict[str, dict[str, object]] = {
    "A-10001": {
        "number": "A-10001",
        "status": "shipped",
        "delivery": {"eta": "tomorrow before 20:00"},
        "phone_on_file": "+15550100001",
        "address": "12 Harbour Street, Valencia 46001",
    },
    "A-10002": {
        "number": "A-10002",
        "status": "being prepared",
        "delivery": {"eta": "in 2 to 4 working days"},
        "phone_on_file": "+15550100002",
        "address": "Rua das Flores 8, Porto 4050-262",
    },
    "A-10003": {
        "number": "A-10003",
        "status": "delivered",
        "delivery": {"eta": "already delivered, on Monday"},
        "phone_on_file": "+15550100003",
        "address": "4 Rue du Port, Marseille 13002",
    },
    "A-10004": {
        "number": "A-10004",
        "status": "delayed at the courier",
        "delivery": {"eta": "by the end of the week"},
        "phone_on_file": "+15550100004",
        "address": "Calle Mayor 21, Madrid 28013",
    },
    "A-10005": {
        "number": "A-10005",
        "status": "cancelled",
        "delivery": {"eta": "not applicable (cancelled and refunded)"},
        "phone_on_file": "+15550100005",
        "address": "Avenida da Liberdade 100, Lisboa 1250-096",
    },
}

Handler = Callable[[Request, dict[str, object]], Awaitable[Response]]


def _error(status: int, code: str) -> JSONResponse:
    return JSONResponse({"error": code}, status_code=status)


def create_shop(
    secret: bytes | None,
    orders: dict[str, dict[str, object]] | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The shop's app; `orders` (number -> record) replaces the seeded ones, and is
    copied: the app's changes stay in the app."""
    records = copy.deepcopy(SEEDED_ORDERS if orders is None else orders)
    codes: deque[dict[str, object]] = deque(maxlen=_KEPT_CODES)

    def guarded(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            header = request.headers.get(SIGNATURE_HEADER, "")
            if secret is not None and not verify(
                secret,
                raw,
                header,
                int(clock()),
                method=request.method,
                target=received_target(request.scope),
            ):
                return _error(401, "bad_signature")
            if not raw:
                return await handler(request, {})
            try:
                data = json.loads(raw)
            except ValueError:
                return _error(400, "not_json")
            if not isinstance(data, dict):
                return _error(400, "not_an_object")
            return await handler(request, data)

        return endpoint

    def order(request: Request) -> dict[str, object] | None:
        return records.get(str(request.path_params["number"]).strip().upper())

    async def get_order(request: Request, _: dict[str, object]) -> Response:
        found = order(request)
        if found is None:
            return _error(404, "not_found")
        return JSONResponse(found)

    async def change_address(request: Request, data: dict[str, object]) -> Response:
        found = order(request)
        if found is None:
            return _error(404, "not_found")
        # The flow posts every field it collected; the shop reads the one it needs.
        address = data.get("new_address")
        if not isinstance(address, str) or not 0 < len(address.strip()) <= _MAX_ADDRESS:
            return _error(422, "new_address_required")
        found["address"] = address.strip()
        log.info("order %s now goes to %s", found["number"], found["address"])
        return JSONResponse({"ok": True})

    async def send_code(request: Request, data: dict[str, object]) -> Response:
        to, code = data.get("to"), data.get("code")
        if not isinstance(to, str) or not isinstance(code, str) or not to or not code:
            return _error(422, "to_and_code_required")
        codes.appendleft({"to": to, "code": code, "conversation_id": data.get("conversation_id")})
        # The demo's SMS gateway: the code is read here (or at GET /codes).
        log.info("code for %s: %s", to, code)
        return JSONResponse({"ok": True}, status_code=202)

    async def list_codes_unsigned(request: Request) -> Response:
        return JSONResponse({"codes": list(codes)})

    async def pay(request: Request, data: dict[str, object]) -> Response:
        card, expiry = data.get("card_number"), data.get("expiry")
        digits = re.sub(r"[\s-]", "", card) if isinstance(card, str) else ""
        if not (digits.isascii() and digits.isdigit() and 12 <= len(digits) <= 19) or not (
            luhn_valid(digits)
        ):
            return _error(422, "invalid_card")
        shape = _EXPIRY.fullmatch(expiry.strip()) if isinstance(expiry, str) else None
        if shape is None or not 1 <= int(shape[1]) <= 12:
            return _error(422, "invalid_expiry")
        # Nothing of the card is kept: the reference is all the shop remembers.
        reference = f"PAY-{secrets.token_hex(4).upper()}"
        log.info("payment %s taken with a card ending %s", reference, digits[-4:])
        return JSONResponse({"ok": True, "reference": reference, "last4": digits[-4:]})

    return Starlette(
        routes=[
            Route("/orders/{number}", guarded(get_order), methods=["GET"]),
            Route("/orders/{number}/address", guarded(change_address), methods=["POST"]),
            Route("/codes", guarded(send_code), methods=["POST"]),
            # Unsigned: it is the demo's phone, where whoever tries the demo reads the
            # code the bot sent (the shop listens on loopback only).
            Route("/codes", list_codes_unsigned, methods=["GET"]),
            Route("/payments", guarded(pay), methods=["POST"]),
        ]
    )


@contextlib.asynccontextmanager
async def serve_app(app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """`app` on a loopback port (0: any free one) in the running event loop; yields its
    base URL. Without a secret the shop answers anyone: loopback only."""
    async with serve_on_loopback(app, "the demo shop", host, port) as url:
        yield url


@contextlib.asynccontextmanager
async def serve_shop(
    host: str = "127.0.0.1", port: int = DEMO_PORT, secret: bytes | None = None
) -> AsyncIterator[str]:
    """The shop on loopback (port 0: any free one); yields its base URL."""
    async with serve_app(create_shop(secret), host, port) as url:
        yield url
