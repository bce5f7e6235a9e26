"""The embeddable widget (/widget.js) on a host product's page served from ANOTHER port, in a
real headless Chromium (Debian's, driven by Playwright), against `learnloop serve` (not dev
mode) on the sample knowledge base plus a small hostile one. A local HTTP server stands in for
the tenant's help desk (the handoff webhook). Every request that is neither for the host page
nor for Learnloop is aborted.

The host page's CSS is hostile (``* { all: unset; font-size: 40px }``, ``button { display:
none }``): the widget lives in a Shadow DOM, so neither side breaks the other.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from browser import chromium
from conftest import clear_learnloop_env, free_port, knowledge_with, running_server
from PIL import Image, ImageStat
from playwright.sync_api import Browser, BrowserContext, Page, expect

from assistant.access.registry import DEFAULT_TENANT, AccessRegistry
from assistant.access.tenant_config import TenantConfigs
from assistant.settings import Settings
from assistant.storage.database import open_database
from ingest.sync import sync_path

TWO_FA = "How do I turn on two-factor authentication?"
TWO_FA_URL = "https://help.tasklane.example/articles/admin/two-factor-authentication"
HOSTILE_CSS = "* { all: unset; font-size: 40px } button { display: none } div { color: red }"
# A question that would run if it were ever parsed as HTML.
HOSTILE_QUESTION = '<img src=x onerror="window.__pwned = \'question\'"> how do I run the cleanup?'
HOSTILE_ARTICLE = """---
title: "Run the cleanup script"
url: https://help.tasklane.example/articles/cleanup
---

To run the cleanup, open **Settings → Cleanup**, paste `<script>window.__pwned = "code"</script>`
into the **Script** box and click **Run cleanup now**.
The cleanup script is <script>window.__pwned = "article"</script> safe to run twice.

If the cleanup stops, read [the cleanup guide](javascript:window.__pwned='link') or open
`javascript:window.__pwned='typed'` and run the cleanup again.
"""
SCREENSHOTS = "screenshots"


# --- small servers: the host product's pages and its help desk --------------------------------


@dataclass
class PageServer:
    """Serves ``/?token=…&kb=…[&fresh=…]``: a host product page with hostile CSS that embeds
    the widget from ``learnloop`` (set once Learnloop is up)."""

    server: ThreadingHTTPServer
    learnloop: str = ""

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, token: str, kb: str = "sample", fresh: str | None = None) -> str:
        query = f"token={token}&kb={kb}" + (f"&fresh={fresh}" if fresh else "")
        return f"{self.origin}/?{query}"


def host_page(learnloop: str, token: str, kb: str, fresh: str | None) -> str:
    hook = ""
    if fresh:  # the host answers an expired token with a fresh one, as after a re-login
        hook = ("<script>window.Learnloop = { onTokenExpired: (detail) => { "
                "window.__expiredReason = detail.reason; return " + json.dumps(fresh) + "; } };"
                "</script>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Host product</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{HOSTILE_CSS}</style>
<script>window.addEventListener("learnloop:token-expired",
  (e) => {{ window.__expiredEvent = e.detail.reason; }});</script>{hook}
</head><body><h1 id="host-title">Host product</h1><p>Your projects.</p>
<button id="host-button">Host button</button>
<script src="{html.escape(learnloop)}/widget.js" data-kb="{html.escape(kb)}"
  data-token="{html.escape(token)}"></script>
</body></html>"""


def serve_pages() -> PageServer:
    holder: list[PageServer] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            page = host_page(holder[0].learnloop, query["token"][0], query.get("kb", ["sample"])[0],
                             query.get("fresh", [None])[0]).encode()
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: Any) -> None:
            pass

    pages = PageServer(ThreadingHTTPServer(("127.0.0.1", free_port()), Handler))
    holder.append(pages)
    threading.Thread(target=pages.server.serve_forever, daemon=True).start()
    return pages


@dataclass
class HelpDesk:
    """Records each POST; answers the first one with 503, as a help desk having a bad moment,
    so the webhook's retry is exercised."""

    server: ThreadingHTTPServer | None = None
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/handoff"


def serve_help_desk() -> HelpDesk:
    desk = HelpDesk()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            desk.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(503 if len(desk.received) == 1 else 204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    desk.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=desk.server.serve_forever, daemon=True).start()
    return desk


# --- fixtures -------------------------------------------------------------------------------


@dataclass
class Stack:
    base: str
    host: PageServer  # an origin the default tenant allows
    other_host: PageServer  # an origin only the "other" tenant allows
    desk: HelpDesk
    access: AccessRegistry
    csm_key: str
    ingest_key: str  # the host product's backend

    def token(self, user: str = "user-7", account: str = "acme", tenant: str = DEFAULT_TENANT,
              locale: str | None = "en", audience: str | None = None) -> str:
        return self.access.issue_token(tenant, user, account_id=account, locale=locale,
                                       ttl=900, audience=audience)

    def events(self, types: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.base}/v1/accounts/acme/events", timeout=10,
                             params={"types": types, "limit": 200},
                             headers={"authorization": f"Bearer {self.csm_key}"})
        return response.json()["events"] if response.status_code == 200 else []


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def stack(sample_knowledge, embedders, model_dir, tmp_path_factory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("widget")
    data = Path(shutil.copytree(sample_knowledge.settings.data_dir, root / "data", symlinks=True))
    hostile = root / "hostile"
    hostile.mkdir()
    (hostile / "cleanup.md").write_text(HOSTILE_ARTICLE, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        clear_learnloop_env(mp)
        knowledge = knowledge_with(Settings(data_dir=data), embedders, model_dir)
        assert sync_path(knowledge, "hostile", hostile).ok
        access = AccessRegistry(open_database(None, data, "access.sqlite"))
        access.ensure_tenant(DEFAULT_TENANT)
        access.create_tenant("other")
        _, csm_key = access.create_key(DEFAULT_TENANT, "csm", "widget test")
        _, ingest_key = access.create_key(DEFAULT_TENANT, "ingest", "widget test")
        host, other_host, desk = serve_pages(), serve_pages(), serve_help_desk()
        configs = TenantConfigs(open_database(None, data, "access.sqlite"))
        # No holdout and no spacing: the tip test's user sees tips, and a tip that stays
        # hidden in a later session does so because it was dismissed.
        configs.update(DEFAULT_TENANT, allowed_origins=[host.origin], handoff_webhook=desk.url,
                       tip_holdout_percent=0, tip_spacing_days=0)
        configs.update("other", allowed_origins=[other_host.origin])
        try:
            with running_server(data, root, dev=False) as base:
                host.learnloop = other_host.learnloop = base
                yield Stack(base, host, other_host, desk, access, csm_key, ingest_key)
        finally:
            for server in (host.server, other_host.server, desk.server):
                assert server is not None
                server.shutdown()


@pytest.fixture
def context(browser, stack) -> Iterator[BrowserContext]:
    made = new_context(browser, stack)
    yield made
    made.close()


def new_context(browser: Browser, stack: Stack, width: int = 1000) -> BrowserContext:
    context = browser.new_context(viewport={"width": width, "height": 760})
    allowed = (stack.base, stack.host.origin, stack.other_host.origin)
    context.route("**/*", lambda route: route.continue_()
                  if route.request.url.startswith(allowed) else route.abort())
    return context


def open_host(context: BrowserContext, url: str, name: str = "Help") -> tuple[Page, list[str]]:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    expect(launcher(page, name)).to_be_visible()
    return page, errors


def launcher(page: Page, name: str = "Help"):
    return page.get_by_role("button", name=name, exact=True)


def focused_in_widget(page: Page) -> str | None:
    """What has focus inside the widget's shadow root: 'launcher', an element id, or a tag."""
    return page.evaluate("""() => {
        const host = document.querySelector("learnloop-widget");
        if (document.activeElement !== host) return null;
        const inner = host.shadowRoot.activeElement;
        if (!inner) return null;
        return inner.classList.contains("launcher") ? "launcher" : (inner.id || inner.tagName);
    }""")


def open_with_keyboard(page: Page) -> None:
    for _ in range(6):  # the host's own controls come first, if it has any visible
        page.keyboard.press("Tab")
        if focused_in_widget(page) == "launcher":
            break
    assert focused_in_widget(page) == "launcher"
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_be_visible()
    assert focused_in_widget(page) == "ll-q"


def ask(page: Page, question: str) -> dict[str, Any]:
    """Type a question and press Enter; returns the streamed answer's ``done`` event."""
    turns = page.locator(".turn")
    before = turns.count()
    with page.expect_response(lambda r: r.url.endswith("/v1/chat/stream")) as response:
        page.keyboard.type(question)
        page.keyboard.press("Enter")
    assert response.value.ok, response.value.text()
    assert response.value.headers["content-type"].startswith("text/event-stream")
    expect(turns).to_have_count(before + 1)
    expect(turns.last.locator(".meta, .a.declined").first).to_be_visible()
    frames = response.value.text().split("\n\n")
    names = [f.split("\n")[0].removeprefix("event: ") for f in frames if f]
    assert names[0] == "start" and names[-1] == "done", names
    return json.loads(frames[-2].split("\n", 1)[1].removeprefix("data: "))


def wait_for(read: Callable[[], list[dict[str, Any]]], wanted: Callable[[list[Any]], bool]) -> Any:
    deadline = time.monotonic() + 15
    while True:
        got = read()
        if wanted(got) or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def not_pwned(page: Page) -> None:
    assert page.evaluate("() => window.__pwned") is None


# --- the widget in a browser ----------------------------------------------------------------


def test_keyboard_ask_streamed_cited_answer_citation_click_and_feedback(context, stack):
    token = stack.token()
    page, errors = open_host(context, stack.host.url(token))
    open_with_keyboard(page)
    # The user's next learning step, as the learning API has it, as a card with its link.
    learning = httpx.get(f"{stack.base}/v1/users/user-7/learning", timeout=10,
                         params={"kb": "sample", "limit": 1},
                         headers={"authorization": f"Bearer {token}"}).json()
    step = learning["next_steps"][0]
    card = page.get_by_role("region", name="Your next step")
    expect(card.get_by_text(step["title"])).to_be_visible()
    if step["url"]:
        expect(card.get_by_role("link", name=step["title"])).to_have_attribute("href", step["url"])
    answer = ask(page, TWO_FA)
    turn = page.locator(".turn").last
    expect(turn.locator(".q")).to_have_text(TWO_FA)
    expect(turn.locator(".a")).to_contain_text("Account settings → Security")
    link = turn.get_by_role("link", name="[1] Turn on two-factor authentication")
    expect(link).to_have_attribute("href", TWO_FA_URL)
    assert page.evaluate("() => performance.getEntriesByName('learnloop:first-event').length") == 1

    with context.expect_page() as article:  # the article opens in a new tab
        link.click()
    article.value.close()
    turn.get_by_role("button", name="Not helpful").click()
    reason = turn.page.get_by_role("textbox", name="What was missing? (optional)")
    expect(reason).to_be_focused()
    page.keyboard.type("It did not say how to use recovery codes")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Thanks for your feedback.")).to_be_visible()

    mine = lambda events: [e for e in events  # noqa: E731
                           if e["properties"].get("message_id") == answer["message_id"]]
    logged = wait_for(lambda: mine(stack.events("citation_clicked,answer_feedback")),
                      lambda got: len(got) == 2)
    by_type = {e["type"]: e for e in logged}
    assert by_type["citation_clicked"]["properties"]["article_id"] == \
        answer["citations"][0]["article_id"]
    feedback = by_type["answer_feedback"]["properties"]
    assert feedback["helpful"] is False
    assert feedback["reason"] == "It did not say how to use recovery codes"
    assert all(e["user_id"] == "user-7" for e in logged)

    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert focused_in_widget(page) == "launcher"
    assert not errors, errors


def test_focus_stays_in_the_open_panel(context, stack):
    page, _ = open_host(context, stack.host.url(stack.token(user="user-tab")))
    open_with_keyboard(page)
    seen = set()
    for _ in range(8):
        page.keyboard.press("Tab")
        where = focused_in_widget(page)
        assert where not in (None, "launcher"), "Tab left the dialog"
        seen.add(where)
    assert {"ll-q", "BUTTON"} <= seen


def test_handoff_logs_the_event_and_posts_the_help_desk_webhook(context, stack):
    page, _ = open_host(context, stack.host.url(stack.token(user="user-hand")))
    open_with_keyboard(page)
    answer = ask(page, "Can I export my invoices to a spreadsheet?")
    page.get_by_role("button", name="Talk to a person").click()
    expect(page.get_by_role("status").filter(has_text="asked a person")).to_be_visible()

    logged = wait_for(lambda: [e for e in stack.events("handoff_requested")
                               if e["user_id"] == "user-hand"], lambda got: len(got) == 1)
    assert len(logged) == 1
    assert logged[0]["properties"]["session_id"] == answer["session_id"]

    # Delivered in the background: the first attempt got a 503, the retry a 204.
    received = wait_for(lambda: [r for r in stack.desk.received
                                 if json.loads(r[1])["user_id"] == "user-hand"],
                        lambda got: len(got) == 2)
    assert len(received) == 2
    headers, body = received[-1]
    payload = json.loads(body)
    assert payload == payload | {
        "type": "handoff_requested", "event_id": logged[0]["id"], "tenant": DEFAULT_TENANT,
        "user_id": "user-hand", "account_id": "acme", "session_id": answer["session_id"],
        "last_question": "Can I export my invoices to a spreadsheet?",
    }
    assert datetime.fromisoformat(payload["requested_at"]).tzinfo is not None
    secret = stack.access.token_secret(DEFAULT_TENANT).encode()
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    assert headers["x-learnloop-signature"] == f"sha256={expected}"


def test_the_conversation_follows_the_user_to_a_reload_and_a_second_device(browser, stack):
    token = stack.token(user="user-roam")
    first = new_context(browser, stack)
    page, _ = open_host(first, stack.host.url(token))
    open_with_keyboard(page)
    ask(page, TWO_FA)
    page.reload()
    open_with_keyboard(page)
    expect(page.locator(".turn .q")).to_have_text([TWO_FA])
    first.close()

    second = new_context(browser, stack)  # another device: no shared storage at all
    page, _ = open_host(second, stack.host.url(token))
    open_with_keyboard(page)
    expect(page.locator(".turn .q")).to_have_text([TWO_FA])
    expect(page.locator(".turn .sources a").first).to_have_attribute("href", TWO_FA_URL)
    # Continuing there stays in the same stored conversation.
    follow_up = ask(page, "and what if I lose my phone?")
    listed = httpx.get(f"{stack.base}/v1/sessions", headers={"authorization": f"Bearer {token}"},
                       timeout=10).json()["sessions"]
    assert [s["session_id"] for s in listed] == [follow_up["session_id"]]
    assert listed[0]["messages"] == 4
    second.close()

    colleague = new_context(browser, stack)  # same account, another user: sees nothing
    page, _ = open_host(colleague, stack.host.url(stack.token(user="user-colleague")))
    open_with_keyboard(page)
    expect(page.get_by_text("Ask anything about the product.")).to_be_visible()
    expect(page.locator(".turn")).to_have_count(0)
    colleague.close()


def test_hostile_question_and_article_render_as_text(context, stack, tmp_path_factory):
    page, errors = open_host(context, stack.host.url(stack.token(user="user-evil"), kb="hostile"))
    open_with_keyboard(page)
    answer = ask(page, HOSTILE_QUESTION)
    turn = page.locator(".turn").last
    expect(turn.locator(".q")).to_have_text(HOSTILE_QUESTION)
    assert answer["answered"], answer
    expect(turn.locator(".a")).to_contain_text("Run cleanup now")
    # The article's markup reaches the answer (ingest keeps inline code verbatim) and is
    # shown as characters: the widget's DOM holds no element made from it.
    assert '<script>window.__pwned = "code"</script>' in answer["answer"]
    expect(turn.locator(".a")).to_contain_text('<script>window.__pwned = "code"</script>')
    expect(turn.locator(".a")).to_contain_text("javascript:window.__pwned='typed'")
    widget_html = page.evaluate(
        "() => document.querySelector('learnloop-widget').shadowRoot.innerHTML")
    assert "<img" not in widget_html and "<script" not in widget_html
    assert "&lt;script&gt;" in widget_html and "&lt;img" in widget_html
    assert not page.locator("learnloop-widget a[href^='javascript']").count()
    time.sleep(0.5)  # an onerror handler would have fired by now
    not_pwned(page)
    assert not errors, errors
    shots = tmp_path_factory.getbasetemp() / SCREENSHOTS
    shots.mkdir(exist_ok=True)
    page.get_by_role("dialog").screenshot(path=str(shots / "widget-hostile.png"))
    # What a person sees: the question's markup as characters in the question bubble.
    bubble = turn.locator(".q").bounding_box()
    assert bubble is not None and bubble["height"] >= 20 and bubble["width"] >= 100


def test_javascript_links_become_text_and_http_links_stay_links(context, stack):
    """The widget's own link rule, through its public rendering of a history turn: the
    answers stored by the server are the only source of links, so feed it the hostile shape
    the server could never store and check what a person would see."""
    page, _ = open_host(context, stack.host.url(stack.token(user="user-links")))
    open_with_keyboard(page)
    page.evaluate("""() => {
        const w = document.querySelector("learnloop-widget");
        const turn = w.addTurn("links?");
        w.finish(turn, {answer: "see sources", answered: true, message_id: "m-1", citations: [
            {n: 1, title: "Evil", article_id: "a", url: "javascript:window.__pwned='link'"},
            {n: 2, title: "Data", article_id: "b", url: "data:text/html,<script>1</script>"},
            {n: 3, title: "Good", article_id: "c", url: "https://help.tasklane.example/x"}]});
    }""")
    sources = page.locator(".turn").last.locator(".sources li")
    expect(sources).to_have_text(["[1] Evil", "[2] Data", "[3] Good"])
    expect(sources.locator("a")).to_have_count(1)
    expect(sources.locator("a")).to_have_attribute("href", "https://help.tasklane.example/x")
    sources.get_by_text("[1] Evil").click()
    not_pwned(page)


def test_spanish_token_gets_spanish_strings(context, stack):
    page, _ = open_host(context, stack.host.url(stack.token(user="user-es", locale="es-MX")),
                        name="Ayuda")
    open_with_keyboard(page)
    expect(page.get_by_role("button", name="Hablar con una persona")).to_be_visible()
    expect(page.get_by_role("textbox", name="Tu pregunta")).to_be_focused()


def test_hostile_host_css_neither_breaks_the_widget_nor_is_changed_by_it(context, stack):
    page, _ = open_host(context, stack.host.url(stack.token(user="user-css")))
    button = launcher(page)
    style = button.evaluate("(b) => { const s = getComputedStyle(b); "
                            "return [s.display, s.fontSize, s.backgroundColor]; }")
    assert style == ["block", "14px", "rgb(29, 78, 216)"]
    # The host's own rules still hold on the host's elements.
    host = page.evaluate("() => [getComputedStyle(document.getElementById('host-title')).fontSize,"
                         " getComputedStyle(document.getElementById('host-button')).display]")
    assert host == ["40px", "none"]


def test_panel_is_readable_at_320_px_and_the_screenshot_shows_it(browser, stack,
                                                                 tmp_path_factory):
    context = browser.new_context(viewport={"width": 320, "height": 640})
    allowed = (stack.base, stack.host.origin)
    context.route("**/*", lambda route: route.continue_()
                  if route.request.url.startswith(allowed) else route.abort())
    page, _ = open_host(context, stack.host.url(stack.token(user="user-narrow")))
    open_with_keyboard(page)
    ask(page, TWO_FA)
    dialog = page.get_by_role("dialog")
    box = dialog.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 320
    assert box["y"] >= 0 and box["width"] >= 280
    for control in (page.get_by_role("textbox", name="Your question"),
                    page.get_by_role("button", name="Send"),
                    page.get_by_role("button", name="Talk to a person"),
                    page.get_by_role("button", name="Close help")):
        expect(control).to_be_in_viewport()
        inner = control.bounding_box()
        assert inner is not None and inner["x"] >= box["x"] and \
            inner["x"] + inner["width"] <= box["x"] + box["width"] + 0.5
    answer = page.locator(".turn .a").last
    assert answer.evaluate("(a) => parseFloat(getComputedStyle(a).fontSize)") >= 13
    assert answer.evaluate("(a) => a.scrollWidth <= a.clientWidth")  # no clipped lines
    shots = tmp_path_factory.getbasetemp() / SCREENSHOTS
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / "widget-320.png"))
    image = Image.open(shots / "widget-320.png").convert("RGB")
    assert image.size == (320, 640)
    # The panel's blue header band is drawn where the dialog's box says it is.
    header = image.getpixel((int(box["x"] + box["width"] / 2), int(box["y"] + 6)))
    assert header[2] > 150 and header[0] < 80, header
    grey = image.crop((int(box["x"]), int(box["y"]), int(box["x"] + box["width"]),
                       int(box["y"] + box["height"]))).convert("L")
    dark = sum(grey.histogram()[:128]) / (grey.width * grey.height)
    assert 0.01 < dark < 0.6, dark  # text on a light panel: not blank, not a dark block
    assert ImageStat.Stat(grey).stddev[0] > 20
    context.close()


def test_expired_token_asks_the_host_and_shows_a_readable_message(context, stack):
    now = int(datetime.now(UTC).timestamp())
    expired = jwt.encode({"tenant": DEFAULT_TENANT, "sub": "user-late", "account": "acme",
                          "iat": now - 7200, "exp": now - 3600},
                         stack.access.token_secret(DEFAULT_TENANT), algorithm="HS256")
    page, errors = open_host(context, stack.host.url(expired))
    launcher(page).click()
    expect(page.get_by_role("alert")).to_have_text(
        "Your session has expired. Reload the page or sign in again to keep asking.")
    assert page.evaluate("() => window.__expiredEvent") == "expired"
    assert not errors, errors

    # A host that hands over a fresh token on request: the widget carries on with it.
    page, _ = open_host(context, stack.host.url(expired, fresh=stack.token(user="user-late")))
    launcher(page).click()
    page.wait_for_function("() => window.__expiredReason === 'expired'")
    expect(page.get_by_role("alert")).to_be_hidden()
    page.get_by_role("textbox", name="Your question").focus()
    ask(page, TWO_FA)


def test_a_page_on_an_origin_the_tenant_does_not_allow_gets_no_answer(context, stack):
    # The "other" tenant allows this origin; the token is the default tenant's.
    page, _ = open_host(context, stack.other_host.url(stack.token(user="user-astray")))
    failed: list[str] = []  # the browser withholds a refused answer: the request fails
    page.on("requestfailed", lambda request: failed.append(request.url))
    launcher(page).click()
    page.get_by_role("textbox", name="Your question").fill(TWO_FA)
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("could not be reached")
    page.wait_for_function("() => !document.querySelector('learnloop-widget').busy")
    assert f"{stack.base}/v1/chat/stream" in failed
    expect(page.locator(".turn")).to_have_count(0)
    listed = httpx.get(f"{stack.base}/v1/sessions", timeout=10, headers={
        "authorization": f"Bearer {stack.token(user='user-astray')}"}).json()
    assert listed == {"sessions": []}


def test_tip_card_dismissed_stays_hidden_after_reload(browser, context, stack,
                                                     tmp_path_factory):
    def duplicate_tasks(run: str) -> None:
        """The host reports what makes "make repeating work recurring" due: three tasks
        duplicated by hand (a tip is offered once per such firing)."""
        now = datetime.now(UTC).isoformat()
        duplicated = [{"id": f"dup-{run}-{n}", "type": "feature_used", "account_id": "acme",
                       "user_id": "user-tips", "ts": now,
                       "properties": {"feature": "task.duplicated"}} for n in range(3)]
        stored = httpx.post(f"{stack.base}/v1/events", json={"events": duplicated}, timeout=10,
                            headers={"authorization": f"Bearer {stack.ingest_key}"}).json()
        assert stored["accepted"] == 3, stored

    duplicate_tasks("first")
    token = stack.token(user="user-tips")
    probe = httpx.get(f"{stack.base}/v1/tips/next", timeout=10,  # staff: decided, not recorded
                      headers={"authorization": f"Bearer {stack.csm_key}"},
                      params={"user_id": "user-tips", "account_id": "acme",
                              "session_id": "probe", "kb": "sample"})
    assert probe.status_code == 200, probe.text
    assert probe.json()["tip"] is not None, probe.json()["reason"]
    page, _ = open_host(context, stack.host.url(token))
    with page.expect_response(lambda r: "/v1/tips/next" in r.url) as shown:
        open_with_keyboard(page)
    tip = shown.value.json()["tip"]
    assert tip is not None, shown.value.json()["reason"]
    card = page.get_by_role("region", name="Tip")
    expect(card.get_by_role("heading")).to_have_text(tip["title"])
    for step in tip["steps"]:
        expect(card.get_by_text(step.replace("**", ""), exact=True)).to_be_visible()
    shots = tmp_path_factory.getbasetemp() / SCREENSHOTS
    shots.mkdir(exist_ok=True)
    page.get_by_role("dialog").screenshot(path=str(shots / "widget-tip.png"))
    card.get_by_role("button", name="Dismiss").click()
    expect(card).to_contain_text("Tip hidden.")
    logged = wait_for(lambda: [e for e in stack.events("tip_dismissed,tip_shown")
                               if e["user_id"] == "user-tips"], lambda got: len(got) >= 2)
    dismissed = [e for e in logged if e["type"] == "tip_dismissed"]
    assert dismissed and dismissed[0]["properties"] == {"tip_id": tip["id"], "scope": "tip"}
    # A reload in the same tab is the same session (one tip per session); a new browser is a
    # new session, where the tip stays hidden because it was dismissed.
    page.reload()
    with page.expect_response(lambda r: "/v1/tips/next" in r.url) as again:
        open_with_keyboard(page)
    assert again.value.json()["tip"] is None
    expect(page.get_by_role("region", name="Tip")).to_have_count(0)
    time.sleep(1.1)  # the next firing is later than the dismissal, to the millisecond
    duplicate_tasks("again")
    later = new_context(browser, stack)
    page, _ = open_host(later, stack.host.url(token))
    with page.expect_response(lambda r: "/v1/tips/next" in r.url) as elsewhere:
        open_with_keyboard(page)
    answer = elsewhere.value.json()
    assert answer["tip"] is None or answer["tip"]["id"] != tip["id"], answer
    if answer["tip"] is None:
        assert "dismissed" in answer["reason"], answer
    later.close()


# --- the API's origin rules, as a browser would meet them -------------------------------------


def preflight(stack: Stack, origin: str) -> httpx.Response:
    return httpx.options(f"{stack.base}/v1/chat/stream", timeout=10, headers={
        "origin": origin, "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type"})


def chat_from(stack: Stack, origin: str | None, credential: str,
              kb: str = "sample") -> httpx.Response:
    headers = {"authorization": f"Bearer {credential}"}
    if origin:
        headers["origin"] = origin
    return httpx.post(f"{stack.base}/v1/chat", timeout=30, headers=headers,
                      json={"question": TWO_FA, "kb": kb})


def test_preflight_answers_only_origins_some_tenant_allows(stack):
    allowed = preflight(stack, stack.host.origin)
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == stack.host.origin
    assert "authorization" in allowed.headers["access-control-allow-headers"]
    refused = preflight(stack, "https://evil.example")
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers


def test_origin_and_audience_rules_for_user_tokens_and_keys(stack):
    token = stack.token(user="user-cors")
    ok = chat_from(stack, stack.host.origin, token)
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == stack.host.origin
    # Another tenant's allowed origin, or one nobody allows: refused, nothing readable.
    for origin in (stack.other_host.origin, "https://evil.example"):
        refused = chat_from(stack, origin, token)
        assert refused.status_code == 403, refused.text
        assert "not allowed for this token's tenant" in refused.json()["error"]["message"]
        assert "access-control-allow-origin" not in refused.headers
    # aud: must name the request's origin.
    aimed = stack.token(user="user-cors", audience=stack.host.origin)
    assert chat_from(stack, stack.host.origin, aimed).status_code == 200
    elsewhere = stack.token(user="user-cors", audience=stack.other_host.origin)
    refused = chat_from(stack, stack.host.origin, elsewhere)
    assert refused.status_code == 403 and "token is for" in refused.json()["error"]["message"]
    # Server to server (no Origin) is unchanged; an API key from a page is refused.
    assert chat_from(stack, None, token).status_code == 200
    assert chat_from(stack, None, stack.csm_key).status_code == 200
    from_page = chat_from(stack, stack.host.origin, stack.csm_key)
    assert from_page.status_code == 403 and "API keys" in from_page.json()["error"]["message"]
    # The chat page on Learnloop's own origin still works.
    assert chat_from(stack, stack.base, token).status_code == 200


def test_another_tenants_token_reaches_none_of_this_tenants_data(stack):
    mine = chat_from(stack, stack.host.origin, stack.token(user="user-owner")).json()
    stranger = stack.token(user="user-owner", tenant="other")
    origin = stack.other_host.origin  # allowed for the other tenant: the origin is not the issue
    headers = {"authorization": f"Bearer {stranger}", "origin": origin}
    assert chat_from(stack, origin, stranger).status_code == 404  # no KB 'sample' there
    session = httpx.get(f"{stack.base}/v1/sessions/{mine['session_id']}", headers=headers,
                        timeout=10)
    assert session.status_code == 404
    listed = httpx.get(f"{stack.base}/v1/sessions", headers=headers, timeout=10)
    assert listed.json() == {"sessions": []}
    event = {"id": "x-1", "type": "handoff_requested", "account_id": "acme",
             "user_id": "user-owner", "ts": datetime.now(UTC).isoformat(), "properties": {}}
    stored = httpx.post(f"{stack.base}/v1/events", headers=headers, timeout=10,
                        json={"events": [event]}).json()
    assert stored["accepted"] == 1  # into the other tenant's own log …
    assert not [e for e in stack.events("handoff_requested") if e["id"] == "x-1"]  # … not ours


def test_widget_script_is_small_and_served_as_javascript(stack):
    response = httpx.get(f"{stack.base}/widget.js", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "customElements.define" in response.text
    assert "innerHTML" not in response.text  # text is only ever set as text


def test_identify_switches_to_another_users_token_locale_and_history(context, stack):
    spanish = stack.token(user="user-later", locale="es")
    # That user asked before, from another client of the host (server to server).
    assert chat_from(stack, None, spanish).status_code == 200
    page, _ = open_host(context, stack.host.url(stack.token(user="user-before")))
    open_with_keyboard(page)
    expect(page.locator(".turn")).to_have_count(0)
    page.evaluate("(token) => window.Learnloop.identify(token)", spanish)
    expect(page.get_by_role("button", name="Hablar con una persona")).to_be_visible()
    expect(page.locator(".turn .q")).to_have_text([TWO_FA])
    page.keyboard.press("Escape")
    expect(launcher(page, "Ayuda")).to_be_focused()
