"""The front end's files (src/threadline/web), served by the same process as the API,
with the security headers each needs."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from threadline.api.context import AppContext
from threadline.core.widgets import is_widget_key

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

# Scripts and styles from this origin only, nothing inline: even if some customer text
# were ever put into a page as HTML, the browser would not run it.
_OWN_ORIGIN_ONLY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'"
)


class _SecuredFiles(StaticFiles):
    def __init__(self, folder: str) -> None:
        super().__init__(directory=WEB_DIR / folder, html=True)

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["x-content-type-options"] = "nosniff"
        response.headers["referrer-policy"] = "no-referrer"
        for name, value in (await self.headers_for(path, scope)).items():
            response.headers[name] = value
        return response

    async def headers_for(self, path: str, scope: Scope) -> dict[str, str]:
        raise NotImplementedError


class DeskFiles(_SecuredFiles):
    def __init__(self) -> None:
        super().__init__("desk")

    async def headers_for(self, path: str, scope: Scope) -> dict[str, str]:
        return {"content-security-policy": f"{_OWN_ORIGIN_ONLY}; frame-ancestors 'none'"}


class WidgetFiles(_SecuredFiles):
    """The web chat: the loader runs in the business's page, the chat panel in an
    iframe of ours that only the widget's allowed sites may frame."""

    def __init__(self) -> None:
        super().__init__("widget")

    async def headers_for(self, path: str, scope: Scope) -> dict[str, str]:
        if path.endswith(".html"):
            ancestors = await self._ancestors(scope)
            return {"content-security-policy": f"{_OWN_ORIGIN_ONLY}; frame-ancestors {ancestors}"}
        # Scripts and styles are fetched by other sites' pages (the loader above all).
        return {"cross-origin-resource-policy": "cross-origin"}

    async def _ancestors(self, scope: Scope) -> str:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        key = (query.get("key") or [""])[0]
        ctx: AppContext = scope["app"].state.ctx
        if not is_widget_key(key):
            return "'self'"
        widget = await ctx.tx.read(lambda uow: uow.widgets.by_key(key))
        if widget is None:
            return "'self'"
        return " ".join(widget.allowed_origins) if widget.allowed_origins else "*"
