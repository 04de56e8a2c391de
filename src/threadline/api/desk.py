"""The agent desk's files, served by the same process as the API (issue 4)."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

DESK_DIR = Path(__file__).resolve().parent.parent / "web" / "desk"

# Scripts and styles from this origin only, nothing inline, no framing: even if some
# customer text were ever put into the page as HTML, the browser would not run it.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


class DeskFiles(StaticFiles):
    def __init__(self) -> None:
        super().__init__(directory=DESK_DIR, html=True)

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["content-security-policy"] = CONTENT_SECURITY_POLICY
        response.headers["x-content-type-options"] = "nosniff"
        response.headers["referrer-policy"] = "no-referrer"
        return response
