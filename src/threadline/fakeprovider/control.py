"""The control API under /_fake: what a test or the demo uses to drive the fake.

No authentication: the fake only ever listens on loopback (see server.py).
"""

from __future__ import annotations

import json
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from threadline.fakeprovider import inbound
from threadline.fakeprovider.behaviour import Behaviour
from threadline.fakeprovider.core import FakeCore, FakeInputError
from threadline.fakeprovider.state import PROVIDERS, Provider

PREFIX = "/_fake"


class Undeliverable(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str
    """The recipient, as the send names it (phone number, wa_id, PSID, MSISDN)."""
    error_code: int | None = None
    """The code the failure callback carries; None: the provider's usual one."""


def _problem(status: int, message: str, detail: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if detail is not None:
        body["detail"] = detail
    return JSONResponse(body, status_code=status)


async def _json(request: Request) -> Any:
    raw = await request.body()
    return json.loads(raw) if raw.strip() else {}


def _provider(name: str) -> Provider | None:
    return next((p for p in PROVIDERS if p == name), None)


class ControlApi:
    def __init__(self, core: FakeCore) -> None:
        self.core = core

    def routes(self) -> list[BaseRoute]:
        return [
            Route(f"{PREFIX}/sent", self.sent, methods=["GET"]),
            Route(f"{PREFIX}/deliveries", self.deliveries, methods=["GET"]),
            Route(f"{PREFIX}/behaviour", self.behaviour, methods=["GET", "POST"]),
            Route(f"{PREFIX}/undeliverable", self.undeliverable, methods=["POST"]),
            Route(f"{PREFIX}/reset", self.reset, methods=["POST"]),
            Route(f"{PREFIX}/idle", self.idle, methods=["POST"]),
            Route(f"{PREFIX}/inbound/{{provider}}", self.inbound, methods=["POST"]),
        ]

    async def sent(self, request: Request) -> Response:
        """Every accepted outbound message, oldest first; ?provider= narrows it."""
        name = request.query_params.get("provider")
        provider = _provider(name) if name is not None else None
        if name is not None and provider is None:
            return _problem(404, f"unknown provider {name!r}")
        return JSONResponse([m.to_json() for m in self.core.state.messages(provider)])

    async def deliveries(self, request: Request) -> Response:
        """Every webhook posted to Threadline, with its answer."""
        return JSONResponse([d.to_json() for d in self.core.webhooks.deliveries])

    async def behaviour(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                self.core.behaviours.set(Behaviour.model_validate(await _json(request)))
            except ValueError as exc:  # ValidationError and bad JSON alike
                return _problem(422, "invalid behaviour", _errors(exc))
        return JSONResponse([b.model_dump() for b in self.core.behaviours.current()])

    async def undeliverable(self, request: Request) -> Response:
        """From now on, sends to this recipient fail on the status callback."""
        try:
            target = Undeliverable.model_validate(await _json(request))
        except ValueError as exc:
            return _problem(422, "invalid recipient", _errors(exc))
        self.core.state.undeliverable[target.to] = target.error_code
        return JSONResponse(target.model_dump())

    async def reset(self, request: Request) -> Response:
        self.core.reset()
        return JSONResponse({"reset": True})

    async def idle(self, request: Request) -> Response:
        """Answers once every status callback due has been posted."""
        await self.core.webhooks.idle()
        return JSONResponse({"idle": True})

    async def inbound(self, request: Request) -> Response:
        name = request.path_params["provider"]
        provider = _provider(name)
        if provider is None:
            return _problem(404, f"unknown provider {name!r}; one of {get_args(Provider)}")
        try:
            result = await inbound.deliver(self.core, provider, await _json(request))
        except FakeInputError as exc:
            return _problem(400, str(exc))
        except ValueError as exc:
            return _problem(422, "invalid inbound message", _errors(exc))
        body = result.to_json()
        if provider == "twilio":
            body["message_sid"] = result.message_id
        return JSONResponse(body)


def _errors(exc: ValueError) -> Any:
    if isinstance(exc, ValidationError):
        return json.loads(exc.json(include_url=False))
    return str(exc)
