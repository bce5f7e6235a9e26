"""The chat page at / in a real headless Chromium (Debian's, driven by Playwright) against
`learnloop serve` in its own process on the sample KB. No browser download, no network: every
request that is not for the local server is aborted."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from browser import chromium
from conftest import clear_learnloop_env, running_server
from PIL import Image, ImageStat
from playwright.sync_api import Browser, Page, expect

from assistant.access.registry import DEFAULT_TENANT, AccessRegistry
from assistant.storage.database import open_database

TWO_FA = "How do I turn on two-factor authentication?"
NOTIFICATIONS = "How do I change my notification settings?"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def server(sample_knowledge, tmp_path_factory) -> Iterator[tuple[str, str, str]]:
    """(base URL, an end user's token, a csm key): the page is opened as a host product
    would, /#token=; the key reads back what the page logged."""
    root = tmp_path_factory.mktemp("chat-page")
    data = Path(shutil.copytree(sample_knowledge.settings.data_dir, root / "data", symlinks=True))
    access = AccessRegistry(open_database(None, data, "access.sqlite"))
    access.ensure_tenant(DEFAULT_TENANT)
    token = access.issue_token(DEFAULT_TENANT, "user-42", account_id="acme", ttl=600)
    _, csm_key = access.create_key(DEFAULT_TENANT, "csm", "chat page test")
    with pytest.MonkeyPatch.context() as mp:
        clear_learnloop_env(mp)
        with running_server(data, root, dev=False) as base:
            yield base, token, csm_key


@pytest.fixture
def page(browser, server) -> Iterator[Page]:
    base, token, _ = server
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base)
                  else route.abort())
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.goto(f"{base}/#token={token}")
    expect(opened.locator("#kb option[value=sample]")).to_be_attached()
    yield opened
    context.close()
    assert not errors, errors


def ask(page: Page, question: str) -> dict:
    """Type and submit a question; returns the JSON the page got once it rendered the turn."""
    before = page.locator(".turn").count()
    with page.expect_response(lambda r: r.url.endswith("/v1/chat")) as response:
        page.fill("#question", question)
        page.press("#question", "Enter")
    expect(page.locator(".turn")).to_have_count(before + 1)
    assert response.value.ok, response.value.text()
    return {"request": response.value.request.post_data_json, "answer": response.value.json()}


def test_answer_with_a_citation_link_then_a_follow_up_in_the_same_session(page, server):
    ask(page, TWO_FA)
    turn = page.locator(".turn").first
    expect(turn.locator(".question")).to_have_text(TWO_FA)
    expect(turn.locator(".answer")).to_contain_text("Account settings → Security")
    expect(turn.locator(".answer")).not_to_have_class(re.compile("declined"))
    link = turn.locator(".sources a").first
    expect(link).to_have_text("[1] Turn on two-factor authentication")
    expect(link).to_have_attribute(
        "href", "https://help.tasklane.example/articles/admin/two-factor-authentication")
    expect(turn.locator(".meta")).to_contain_text("confidence 0.")

    first = ask(page, NOTIFICATIONS)
    follow_up = ask(page, "and on mobile?")
    session_id = first["answer"]["session_id"]
    assert follow_up["request"]["session_id"] == session_id
    assert follow_up["answer"]["session_id"] == session_id
    newest = page.locator(".turn").first
    expect(newest.locator(".answer")).to_contain_text("On mobile")
    expect(newest.locator(".sources a").first).to_have_attribute(
        "href", "https://help.tasklane.example/articles/getting-started/notifications")

    base, token, _ = server
    session = httpx.get(f"{base}/v1/sessions/{session_id}", timeout=10,
                        headers={"authorization": f"Bearer {token}"}).json()
    questions = [m["text"] for m in session["messages"] if m["role"] == "user"]
    assert questions == [TWO_FA, NOTIFICATIONS, "and on mobile?"]


def test_out_of_scope_question_shows_as_declined_with_a_human_offered(page):
    body = ask(page, "Can you give me legal advice about my divorce settlement?")["answer"]
    assert body["answered"] is False
    turn = page.locator(".turn").first
    expect(turn.locator(".answer.declined")).to_contain_text("hand you over to a person")
    expect(turn.locator(".meta")).to_contain_text("a person can take over")
    expect(turn.locator(".sources")).to_have_count(0)


def test_citation_clicks_and_feedback_are_logged_for_the_user(page, server):
    base, _, csm_key = server
    answer = ask(page, TWO_FA)["answer"]
    turn = page.locator(".turn").first
    with page.context.expect_page() as opened:  # the article opens in a new tab
        turn.locator(".sources a").first.click()
    opened.value.close()
    turn.get_by_role("button", name="👎 not helpful").click()
    expect(turn.get_by_role("button", name="👎 not helpful")).to_have_attribute(
        "aria-pressed", "true")
    expect(turn.get_by_role("button", name="👍 helpful")).to_be_disabled()

    wanted = {"citation_clicked", "article_viewed", "answer_feedback"}
    deadline = time.monotonic() + 10
    while True:
        events = httpx.get(f"{base}/v1/accounts/acme/events", timeout=10,
                           params={"types": ",".join(sorted(wanted)), "limit": 50},
                           headers={"authorization": f"Bearer {csm_key}"}).json()["events"]
        logged = {e["type"]: e for e in events
                  if e["properties"].get("message_id") == answer["message_id"]}
        if set(logged) == wanted or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert set(logged) == wanted
    cited = answer["citations"][0]["article_id"]
    assert logged["citation_clicked"]["properties"]["article_id"] == cited
    assert logged["answer_feedback"]["properties"]["helpful"] is False
    assert all(e["user_id"] == "user-42" for e in logged.values())


def test_screenshot_shows_the_rendered_conversation(page, tmp_path):
    ask(page, TWO_FA)
    ask(page, "What is the weather in Paris tomorrow?")
    path = tmp_path / "chat-page.png"
    page.screenshot(path=str(path), full_page=True)
    image = Image.open(path).convert("L")
    assert image.width == 1000 and image.height >= 800
    # Text and boxes on a light page: clearly not blank, not one flat colour.
    dark_share = sum(image.histogram()[:160]) / (image.width * image.height)
    assert 0.01 < dark_share < 0.5, dark_share
    assert ImageStat.Stat(image).stddev[0] > 10
