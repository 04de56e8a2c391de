"""A minimal external bot for Threadline (docs/bots-protocol.md).

It answers opening-hours questions itself, hands anything about billing to a human
with what it learned, and says goodbye when thanked. Run it with

    BOT_SECRET=... python docs/examples/external_bot.py

and point the inbox's external bot at http://127.0.0.1:8090/threadline.
"""

import hashlib
import hmac
import json
import os
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

TOLERANCE = 300  # seconds: older signatures may be replays


def target(request: Request) -> str:
    # The path and query exactly as sent: request.url.path is percent-decoded.
    path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string") or b""
    return (path + b"?" + query if query else path).decode("latin-1")


def signed(secret: bytes, request: Request, body: bytes) -> bool:
    header = request.headers.get("X-Threadline-Signature", "")
    parts = [item.strip().partition("=") for item in header.split(",")]
    stamps = [value for key, _, value in parts if key == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    if abs(time.time() - int(stamps[0])) > TOLERANCE:
        return False
    # The method and target are signed too: a signature is good for one request only.
    message = f"{stamps[0]}.{request.method} {target(request)}.".encode() + body
    expected = hmac.new(secret, message, hashlib.sha256).hexdigest()
    # During a rotation there is one v1 per secret: any may match.
    return any(
        hmac.compare_digest(expected.encode(), value.encode())
        for key, _, value in parts
        if key == "v1"
    )


def answer(turn: dict[str, Any]) -> dict[str, Any]:
    text = ((turn.get("message") or {}).get("text") or "").lower()
    if any(word in text for word in ("hours", "open", "close")):
        return {"messages": [{"text": "We're open 9:00-20:00, Monday to Saturday."}]}
    if any(word in text for word in ("bill", "invoice", "charge", "refund")):
        return {
            "messages": [{"text": "I'm passing you to our billing team."}],
            "actions": [
                {"type": "set_fields", "fields": {"topic": "billing", "said": text[:500]}},
                {"type": "handoff", "reason": "billing question", "skill": "billing",
                 "intent": "billing", "confidence": 0.9},
            ],
        }  # fmt: skip
    if any(word in text for word in ("thanks", "thank you", "bye")):
        return {"messages": [{"text": "You're welcome. Goodbye!"}], "actions": [{"type": "close"}]}
    return {
        "messages": [
            {"text": "I can tell you our opening hours, or pass you to billing.",
             "suggestions": ["Opening hours", "A billing question"]}
        ]
    }  # fmt: skip


def create_app(secret: bytes) -> Starlette:
    async def threadline(request: Request) -> JSONResponse:
        body = await request.body()
        if not signed(secret, request, body):
            return JSONResponse({"error": "bad signature"}, status_code=401)
        return JSONResponse(answer(json.loads(body)))

    return Starlette(routes=[Route("/threadline", threadline, methods=["POST"])])


if __name__ == "__main__":
    uvicorn.run(create_app(os.environ["BOT_SECRET"].encode()), host="127.0.0.1", port=8090)
