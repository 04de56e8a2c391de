"""The web chat widget in a real browser, embedded in a business's page (issue 4).

The business's page is on its own origin (served here by a small stdlib server on
another port), Threadline on http://127.0.0.1:<port>. One test puts the shop on another
*site* (http://localhost:<port>), where this Chromium denies the embedded frame all
storage: the widget must still remember its visitor. The agent's side is the desk or
the REST API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    FrameLocator,
    Page,
    WebSocketRoute,
    expect,
)

from tests.support.live import PASSWORD, AgentHandle, Live
from threadline.core.agents import Role

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 667}

# The widget's behaviours are the browser's: one database is enough for them. The end to
# end test runs on both, as every test of the service does.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


# -- the business's site ---------------------------------------------------------------


class Shop:
    """A business's web site on its own origin, with the widget's one script tag."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path.split("?")[0])
                if body is None:
                    self.send_response(404)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.send_header("content-length", str(len(data)))
                # A strict page: the loader may not add inline scripts or <style>.
                self.send_header("content-security-policy", pages["csp"])
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"  # same site, another origin
        # Another site altogether: there the widget's frame is a third party.
        self.other_site = f"http://localhost:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def page(
        self, threadline: str, key: str, *, identity: str | None = None, cross_site: bool = False
    ) -> str:
        """The address of a shop page embedding the widget `key`."""
        path = f"/p{len(self.pages)}"
        signed = f' data-identity="{identity}"' if identity else ""
        self.pages["csp"] = (
            f"default-src 'self'; script-src 'self' {threadline}; style-src 'self'; "
            f"connect-src {threadline}; frame-src {threadline}; img-src 'self'"
        )
        self.pages[path] = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>Acme Outdoor</title></head><body><h1>Acme Outdoor</h1>"
            "<p>Tents, packs and boots.</p>"
            f'<script src="{threadline}/widget/loader.js" data-key="{key}"{signed} async>'
            "</script></body></html>"
        )
        return (self.other_site if cross_site else self.origin) + path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def shop() -> Iterator[Shop]:
    running = Shop()
    yield running
    running.close()


# -- Threadline's side -------------------------------------------------------------------


@dataclass
class Chat:
    live: Live
    shop: Shop
    inbox_id: str
    key: str
    admin: AgentHandle
    alice: AgentHandle

    def page(self, *, identity: str | None = None, cross_site: bool = False) -> str:
        return self.shop.page(
            self.live.base_url, self.key, identity=identity, cross_site=cross_site
        )

    async def conversation_id(self) -> str:
        """The visitor's conversation, once it has reached Alice."""
        for _ in range(100):
            r = await self.live.http.get(
                "/api/v1/conversations",
                params={"agent_id": self.alice.id},
                headers=self.alice.headers,
            )
            assert r.status_code == 200, r.text
            if r.json():
                return str(r.json()[0]["id"])
            await asyncio.sleep(0.05)
        raise AssertionError("the visitor's conversation never reached the agent")

    async def detail(self, conversation_id: str) -> dict[str, Any]:
        return await self.live.conversation(self.alice, conversation_id)

    async def close(self, conversation_id: str) -> None:
        r = await self.live.http.post(
            f"/api/v1/conversations/{conversation_id}/close", headers=self.alice.headers
        )
        assert r.status_code == 200, r.text

    async def agent_post(self, conversation_id: str, action: str, body: dict[str, Any]) -> None:
        r = await self.live.http.post(
            f"/api/v1/conversations/{conversation_id}/{action}",
            json=body,
            headers=self.alice.headers,
        )
        assert r.status_code == 204, r.text


@pytest.fixture
async def chat(live: Live, shop: Shop) -> Chat:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    inbox = await live.inbox("Web chat", channel="web")
    r = await live.http.put(
        f"/api/v1/inboxes/{inbox.id}/widget",
        json={
            "title": "Acme Outdoor",
            "greeting": "Hi! Ask us about gear, orders or returns.",
            "accent_color": "#1f6f4a",
            "allowed_origins": [],  # any site: test_only_the_allowed_sites_… narrows it
        },
        headers=admin.headers,
    )
    assert r.status_code == 200, r.text
    alice = await live.agent("alice")
    return Chat(live, shop, inbox.id, r.json()["key"], admin, alice)


# -- the visitor's browser ---------------------------------------------------------------


@dataclass
class Watch:
    """What the pages of one browser context did that they must not."""

    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)
    # A policy report a test provokes on purpose (a directive's name), not counted as broken.
    expected_csp: str | None = None

    def page(self, page: Page) -> None:
        async def dismiss(dialog: Dialog) -> None:
            self.dialogs.append(dialog.message)
            await dialog.dismiss()

        def console(message: ConsoleMessage) -> None:
            if message.type == "error" and "Content Security Policy" in message.text:
                self.csp.append(message.text)

        page.on("pageerror", lambda error: self.errors.append(str(error)))

        page.on("dialog", dismiss)
        page.on("console", console)


@contextlib.asynccontextmanager
async def browsing(
    browser: Browser, viewport: dict[str, int] = LAPTOP
) -> AsyncIterator[tuple[BrowserContext, Watch]]:
    context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    watch = Watch()
    context.on("page", watch.page)
    try:
        yield context, watch
    finally:
        await context.close()
    assert watch.errors == [], f"a page raised: {watch.errors}"
    assert watch.dialogs == [], f"a dialog opened: {watch.dialogs}"
    broken = [c for c in watch.csp if not (watch.expected_csp and watch.expected_csp in c)]
    assert broken == [], f"the Content-Security-Policy was broken: {broken}"


def launcher(page: Page) -> Any:
    return page.get_by_role("button", name=re.compile(r"^(Open|Close) chat"))


async def open_widget(page: Page) -> FrameLocator:
    await launcher(page).click()
    frame = page.frame_locator("threadline-widget iframe")
    await expect(frame.get_by_role("textbox", name="Message")).to_be_focused()
    return frame


async def say(frame: FrameLocator, text: str) -> None:
    await frame.get_by_role("textbox", name="Message").fill(text)
    await frame.get_by_role("textbox", name="Message").press("Enter")


def mine(frame: FrameLocator) -> Any:
    return frame.locator("#messages li.you")


def theirs(frame: FrameLocator) -> Any:
    return frame.locator("#messages li.agent")


async def desk_sign_in(page: Page, live: Live, agent: AgentHandle) -> None:
    await page.goto(live.base_url + "/desk/")
    await page.get_by_label("Username").fill(agent.username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#me-name")).to_have_text(agent.username)


async def eventually(probe: Callable[[], Awaitable[object]], expected: object) -> None:
    for _ in range(100):
        if (found := await probe()) == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {expected!r}, still {found!r}")


async def _last_status(chat: Chat, conversation_id: str) -> str:
    detail = await chat.detail(conversation_id)
    outbound = [m for m in detail["messages"] if m["direction"] == "outbound"]
    return str(outbound[-1]["delivery_status"])


# -- the tests ---------------------------------------------------------------------------


async def test_a_visitor_and_an_agent_chat_end_to_end(chat: Chat, browser: Browser) -> None:
    async with browsing(browser) as (visitor, _), browsing(browser) as (agent, _):
        desk = await agent.new_page()
        await desk_sign_in(desk, chat.live, chat.alice)
        page = await visitor.new_page()
        await page.goto(chat.page())
        frame = await open_widget(page)
        await expect(frame.get_by_role("heading", name="Acme Outdoor")).to_be_visible()
        await expect(frame.get_by_text("Ask us about gear")).to_be_visible()
        # The name is optional: the visitor just writes.
        await expect(frame.get_by_label("Your name (optional)")).to_be_visible()

        await say(frame, "Do you have the Ridgeline tent in green?")
        await expect(mine(frame).locator(".status")).to_have_text("Sent")
        conversation_id = await chat.conversation_id()
        row = desk.locator(f'#mine button[data-id="{conversation_id}"]')
        await expect(row).to_contain_text("Do you have the Ridgeline tent in green?")

        await row.click()
        await desk.get_by_label("Reply").fill("We do! Size 2 or 3?")
        await desk.get_by_role("button", name="Send").click()
        await expect(theirs(frame).locator(".text")).to_have_text("We do! Size 2 or 3?")
        await expect(theirs(frame).locator(".who")).to_have_text("alice")
        # The panel is open: the agent's message is read, and the desk can tell.
        await eventually(lambda: _last_status(chat, conversation_id), "read")

        await page.reload()
        frame = await open_widget(page)
        await expect(frame.locator("#messages li .text")).to_have_text(
            ["Do you have the Ridgeline tent in green?", "We do! Size 2 or 3?"]
        )
        await say(frame, "Size 2, please")
        await expect(desk.locator("#thread")).to_contain_text("Size 2, please")
        detail = await chat.detail(conversation_id)
        assert [m["text"] for m in detail["messages"]][-1] == "Size 2, please"

        # The agent closes from the desk; the visitor sees it end.
        await desk.get_by_role("button", name="Close", exact=True).click()
        await desk.get_by_role("button", name="Confirm close").click()
        await expect(row).to_have_count(0)
        ended = frame.get_by_text("This conversation has been closed")
        await expect(ended).to_be_visible()
        header = frame.get_by_text("You're chatting with alice")
        await expect(header).to_be_hidden()  # nobody is, once it is closed
        # Writing again reopens the same thread, as a new session, marked as such.
        await say(frame, "One more thing: do you ship to Norway?")
        await expect(ended).to_be_hidden()
        await expect(row).to_contain_text("do you ship to Norway?")
        await expect(mine(frame).last).to_have_class(re.compile(r"\bnew-session\b"))
        await expect(header).to_be_hidden()  # alice answered the last session, not this one


@SQLITE_ONLY
async def test_html_a_visitor_writes_is_shown_as_text_and_never_runs(
    chat: Chat, browser: Browser
) -> None:
    image = "<img src=x onerror=alert(1)>"
    script = "<script>alert(2)</script>"
    async with browsing(browser) as (visitor, seen), browsing(browser) as (agent, desk_seen):
        page = await visitor.new_page()
        await page.goto(chat.page())
        frame = await open_widget(page)
        await say(frame, image)
        await say(frame, script)
        await expect(mine(frame).locator(".text")).to_have_text([image, script])

        desk = await agent.new_page()
        await desk_sign_in(desk, chat.live, chat.alice)
        conversation_id = await chat.conversation_id()
        await desk.locator(f'#mine button[data-id="{conversation_id}"]').click()
        await expect(desk.locator("#thread li.inbound")).to_have_text(
            [re.compile(re.escape(image)), re.compile(re.escape(script))]
        )
        assert await frame.locator("#messages img, #messages script").count() == 0
        assert await desk.locator("#thread img, #thread script").count() == 0
        await page.wait_for_timeout(300)  # an onerror would have fired by now
    assert seen.dialogs == desk_seen.dialogs == []


@SQLITE_ONLY
async def test_a_returning_visitor_finds_their_conversation_days_later(
    chat: Chat, browser: Browser
) -> None:
    async with browsing(browser) as (visitor, _):
        page = await visitor.new_page()
        # On another site than Threadline's, where this browser gives the embedded frame
        # no localStorage at all.
        await page.goto(chat.page(cross_site=True))
        frame = await open_widget(page)
        panel = next(f for f in page.frames if "/widget/frame.html" in f.url)
        assert await panel.evaluate(STORAGE_DENIED)
        await say(frame, "Has order 1042 shipped?")
        await expect(mine(frame).locator(".status")).to_have_text("Sent")
        conversation_id = await chat.conversation_id()
        await page.close()  # the visitor closes the tab

        chat.live.clock.advance(timedelta(days=3).total_seconds())
        chat.alice = await chat.live.login("alice")  # a new working day
        await chat.live.reply(chat.alice, conversation_id, "It ships tomorrow.")

        page = await visitor.new_page()
        await page.goto(chat.page(cross_site=True))
        # Closed panel: the launcher counts what the agent wrote meanwhile.
        await expect(launcher(page)).to_have_accessible_name("Open chat, 1 unread message")
        frame = await open_widget(page)
        await expect(frame.locator("#messages li .text")).to_have_text(
            ["Has order 1042 shipped?", "It ships tomorrow."]
        )
        await expect(launcher(page)).to_have_accessible_name("Close chat")
        await say(frame, "Thanks!")
        await expect(mine(frame).last.locator(".status")).to_have_text("Sent")

    detail = await chat.detail(conversation_id)
    assert [m["text"] for m in detail["messages"]] == [
        "Has order 1042 shipped?",
        "It ships tomorrow.",
        "Thanks!",
    ]
    assert detail["messages"][1]["delivery_status"] == "read"


STORAGE_DENIED = """() => {
    try {
        localStorage.length;
        return false;
    } catch {
        return true;
    }
}"""


def _identity(chat: Chat, secret: str, sub: str = "cust-42") -> str:
    now = chat.live.clock()
    claims = {"sub": sub, "name": "Dana Smith", "exp": int((now + timedelta(hours=1)).timestamp())}
    return jwt.encode(claims, secret, algorithm="HS256")


@SQLITE_ONLY
async def test_a_signed_in_customer_chats_verified_and_a_bad_signature_is_refused(
    chat: Chat, browser: Browser
) -> None:
    r = await chat.live.http.post(
        f"/api/v1/inboxes/{chat.inbox_id}/widget/identity-secret", headers=chat.admin.headers
    )
    assert r.status_code == 201, r.text
    secret = r.json()["secret"]

    async with browsing(browser) as (visitor, _):
        page = await visitor.new_page()
        await page.goto(chat.page(identity=_identity(chat, secret)))
        frame = await open_widget(page)
        await expect(frame.get_by_label("Your name (optional)")).to_be_hidden()  # known
        await say(frame, "Can I change my delivery address?")
        await expect(mine(frame).locator(".status")).to_have_text("Sent")
        conversation_id = await chat.conversation_id()
        detail = await chat.detail(conversation_id)
        assert detail["conversation"]["verification"] == "verified"
        assert detail["customer"]["display_name"] == "Dana Smith"

        # Signed out: the next person at this browser does not see Dana's conversation.
        await page.goto(chat.page())
        frame = await open_widget(page)
        await expect(frame.get_by_label("Your name (optional)")).to_be_visible()
        assert await frame.locator("#messages li").count() == 0

    async with browsing(browser) as (visitor, _):
        page = await visitor.new_page()
        forged = _identity(chat, "a-forged-secret-that-is-long-enough-for-hs256", sub="cust-1")
        await page.goto(chat.page(identity=forged))
        await launcher(page).click()
        frame = page.frame_locator("threadline-widget iframe")
        # Never silently someone else: the visitor is told, and chooses to go on as a guest.
        await expect(frame.get_by_role("alert")).to_contain_text("We couldn't verify your sign-in")
        await expect(frame.get_by_role("textbox", name="Message")).to_be_disabled()
        await frame.get_by_role("button", name="Chat as a guest").click()
        await say(frame, "Hello as a guest")
        await expect(mine(frame).locator(".status")).to_have_text("Sent")

    r = await chat.live.http.get(
        "/api/v1/conversations", params={"agent_id": chat.alice.id}, headers=chat.alice.headers
    )
    guest = [c for c in r.json() if c["id"] != conversation_id]
    assert len(guest) == 1
    assert guest[0]["verification"] == "anonymous"


@SQLITE_ONLY
async def test_the_visitor_sees_the_agent_typing_and_reading(chat: Chat, browser: Browser) -> None:
    async with browsing(browser) as (visitor, _):
        page = await visitor.new_page()
        await page.goto(chat.page())
        frame = await open_widget(page)
        await say(frame, "Is the Summit pack carry-on size?")
        await expect(mine(frame).locator(".status")).to_have_text("Sent")
        conversation_id = await chat.conversation_id()

        await chat.agent_post(conversation_id, "typing", {"typing": True})
        await expect(frame.get_by_text("alice is typing…")).to_be_visible()
        await chat.agent_post(conversation_id, "typing", {"typing": False})
        await expect(frame.get_by_text("alice is typing…")).to_be_hidden()

        await chat.agent_post(conversation_id, "read", {"up_to_seq": 1})
        await expect(mine(frame).locator(".status")).to_have_text("Read")

        # And the other way: the agent's stream hears the visitor typing.
        async with chat.live.stream(chat.alice) as stream:
            await frame.get_by_role("textbox", name="Message").press_sequentially("It is")
            for _ in range(20):
                received = json.loads(await asyncio.wait_for(stream.ws.recv(), 5))
                if received.get("type") == "typing" and received["typing"] is True:
                    assert received["conversation_id"] == conversation_id
                    break
            else:
                raise AssertionError("the desk never heard the visitor typing")


@SQLITE_ONLY
async def test_without_websockets_the_widget_long_polls(chat: Chat, browser: Browser) -> None:
    refused: list[WebSocketRoute] = []

    async def refuse(ws: WebSocketRoute) -> None:
        refused.append(ws)
        await ws.close(code=1006, reason="blocked by a proxy")

    async with browsing(browser) as (visitor, _):
        await visitor.route_web_socket("**/widget/stream", refuse)
        polls: list[str] = []
        visitor.on("request", lambda r: polls.append(r.url) if "/widget/events" in r.url else None)
        page = await visitor.new_page()
        await page.goto(chat.page())
        frame = await open_widget(page)
        await say(frame, "Do you price match?")
        await expect(mine(frame).locator(".status")).to_have_text("Sent")
        conversation_id = await chat.conversation_id()

        await chat.live.reply(chat.alice, conversation_id, "We do, within 14 days.")
        await expect(theirs(frame).locator(".text")).to_have_text("We do, within 14 days.")
        await chat.agent_post(conversation_id, "read", {"up_to_seq": 1})
        await expect(mine(frame).locator(".status")).to_have_text("Read")
        await expect(frame.locator("#notice")).to_be_hidden()  # nothing for the visitor

        # A held poll would keep the server from stopping for up to 25 s: no new polls,
        # and the closing answers the one that is waiting.
        await visitor.route("**/widget/events?**", lambda route: route.abort())
        await chat.close(conversation_id)
        await expect(frame.get_by_text("This conversation has been closed")).to_be_visible()
    assert len(refused) == 2  # two tries, then polling for good
    assert polls


@SQLITE_ONLY
async def test_only_the_allowed_sites_may_embed_the_chat(chat: Chat, browser: Browser) -> None:
    r = await chat.live.http.put(
        f"/api/v1/inboxes/{chat.inbox_id}/widget",
        json={"title": "Acme Outdoor", "allowed_origins": [chat.shop.origin]},
        headers=chat.admin.headers,
    )
    assert r.status_code == 200, r.text
    async with browsing(browser) as (visitor, watch):
        page = await visitor.new_page()
        await page.goto(chat.page())
        frame = await open_widget(page)
        await expect(frame.get_by_role("heading", name="Acme Outdoor")).to_be_visible()
        await say(frame, "Hello from the shop")
        await expect(mine(frame).locator(".status")).to_have_text("Sent")

        # Another site: the browser refuses to frame the chat (frame-ancestors), and the
        # launcher's configuration is refused to it (403, so no CORS grant either).
        watch.expected_csp = "frame-ancestors"
        elsewhere = await visitor.new_page()
        failed: list[str] = []
        elsewhere.on("requestfailed", lambda r: failed.append(r.url))
        async with elsewhere.expect_event(
            "requestfailed", lambda r: r.url.endswith("/config")
        ) as refused:
            await elsewhere.goto(chat.page(cross_site=True))
        await refused.value
        assert any("/widget/frame.html" in url for url in failed), failed
        await expect(elsewhere.locator("threadline-widget")).to_have_count(0)


@SQLITE_ONLY
async def test_on_a_phone_the_panel_fills_the_screen(chat: Chat, browser: Browser) -> None:
    async with browsing(browser, PHONE) as (visitor, _):
        page = await visitor.new_page()
        await page.goto(chat.page())
        frame = await open_widget(page)
        panel = page.locator("threadline-widget iframe")
        assert await panel.bounding_box() == {"x": 0, "y": 0, "width": 375, "height": 667}
        await say(frame, "Do the Scree boots run small?")
        conversation_id = await chat.conversation_id()
        await chat.live.reply(chat.alice, conversation_id, "A little: go half a size up.")
        await expect(theirs(frame)).to_have_count(1)
        composer = frame.get_by_role("textbox", name="Message")
        await expect(composer).to_be_in_viewport(ratio=1)
        await expect(frame.get_by_role("button", name="Send")).to_be_in_viewport(ratio=1)
        IMAGES.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=IMAGES / "widget-phone.png")

        await frame.get_by_role("button", name="Close chat").click()
        await expect(panel).to_be_hidden()
        await expect(launcher(page)).to_be_focused()
        await page.evaluate("window.Threadline.open()")  # the page's own "Chat with us" link
        await expect(panel).to_be_visible()


@SQLITE_ONLY
async def test_the_demo_shop_shows_the_widget_for_the_screenshot(
    chat: Chat, browser: Browser
) -> None:
    async with browsing(browser) as (visitor, _):
        page = await visitor.new_page()
        await page.goto(f"{chat.live.base_url}/widget/demo.html?key={chat.key}")
        await expect(
            page.get_by_role("heading", name="Built for the long way round")
        ).to_be_visible()
        frame = await open_widget(page)
        await frame.get_by_label("Your name (optional)").fill("Sam")
        await say(frame, "Hi! Is the Ridgeline 2 tent OK for winter camping?")
        conversation_id = await chat.conversation_id()
        await chat.live.reply(
            chat.alice,
            conversation_id,
            "Hi Sam! It's a 3-season tent: fine to about -5 °C, but not for snow loads.",
        )
        await say(frame, "What would you suggest for snow?")
        await expect(mine(frame).last.locator(".status")).to_have_text("Sent")
        await chat.agent_post(conversation_id, "read", {"up_to_seq": 3})
        await chat.live.reply(
            chat.alice, conversation_id, "The Ridgeline 4S: same weight class, four-season poles."
        )
        await expect(theirs(frame)).to_have_count(2)
        await expect(mine(frame).last.locator(".status")).to_have_text("Read")
        IMAGES.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=IMAGES / "widget.png")
    detail = await chat.detail(conversation_id)
    assert detail["customer"]["display_name"] == "Sam"
