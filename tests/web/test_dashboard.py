"""The CSM dashboard at /dashboard in a real headless Chromium (Debian's, driven by Playwright)
against `learnloop serve` in its own process, not in dev mode: the page asks for a key and
reads the API with a `csm` key, as a CSM would.

The data is a compact story told through the real parts: four accounts' events (one healthy,
one middling, one slipping with tickets piling up before a near renewal, one gone quiet)
appended to the engagement log, their questions asked through the real chat service, and a
month of daily health snapshots backfilled so the trend has a line. The tenant has launched
automations (which the slipping account reads about), so its plays include a feature launch.
Every request that is not for the local server is aborted.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import chromium
from conftest import clear_learnloop_env, running_server
from PIL import Image, ImageStat
from playwright.sync_api import Browser, Locator, Page, expect

from assistant.access.registry import DEFAULT_TENANT, AccessRegistry, Caller
from assistant.chat.turns import ChatTurn
from assistant.events.model import Event
from assistant.knowledge.base import Knowledge
from assistant.services import Services
from assistant.storage.database import open_database

# Customer data is shown as text, never run as markup.
HOSTILE_NAME = 'Cobalt Studio <img src=x onerror="window.__xss = 1">'
EXPECTED_BANDS = {"acme": "green", "birch": "yellow", "cobalt": "red", "dune": "red"}
# Which accounts each play names in the story (acme: a mature power account; cobalt: quiet
# for 25 days and reading about the launched automations; dune: dormant).
EXPECTED_PLAYS = {"activation": set(), "dormant_win_back": {"cobalt", "dune"},
                  "feature_launch": {"cobalt"}, "power_user": {"acme"}}
LAUNCHED = {"automations.create": []}
SCREENSHOTS = "screenshots"


# --- the story -------------------------------------------------------------------------------


def story(now: datetime) -> list[Event]:
    """Sixty days of four accounts, deterministic (no randomness), relative to ``now``."""
    events: list[Event] = []
    serial = iter(range(10**6))

    def add(kind: str, account: str, user: str | None, ts: datetime, **props: Any) -> None:
        events.append(Event(f"dash-{account}-{next(serial)}", kind, account, user, ts, props))

    def account(account_id: str, name: str, age: int, renewal_in: int, users: list[str]) -> None:
        add("account_updated", account_id, None, now - timedelta(days=age), name=name,
            plan="business", seats=len(users) + 2, status="active",
            created_at=(now - timedelta(days=age)).date().isoformat(),
            renewal_date=(now + timedelta(days=renewal_in)).date().isoformat())
        for n, user in enumerate(users):
            add("user_updated", account_id, user, now - timedelta(days=age - 1),
                role="admin" if n == 0 else "end_user",
                created_at=(now - timedelta(days=age - 1)).date().isoformat())

    def day(days_ago: float, hour: int = 10) -> datetime:
        return (now - timedelta(days=days_ago)).replace(hour=hour, minute=0, second=0)

    # acme: everyone in every day, ten features, reading, tips taken up, happy.
    acme = [f"acme-{n}" for n in ("ana", "ben", "chen", "dara", "eli")]
    account("acme", "Acme Logistics", 200, 220, acme)
    features = ["tasks.create", "notifications.configure", "tags.apply", "filters.save",
                "mobile.login", "tasks.bulk_edit", "integrations.calendar", "search.quick",
                "export.run", "integrations.slack"]
    for back in range(1, 61):
        for n, user in enumerate(acme):
            at = day(back, 9 + n)
            add("login", "acme", user, at)
            for k in range(3):
                add("feature_used", "acme", user, at + timedelta(minutes=k + 1),
                    feature=features[(back + n + k) % len(features)])
            if (back + n) % 4 == 0:
                add("article_viewed", "acme", user, at + timedelta(minutes=5),
                    article_id="articles/how-to/tags.md")
            if (back + n) % 6 == 0:
                add("tip_eligible", "acme", user, at + timedelta(minutes=6),
                    tip_id="tips/save-your-weekly-filter.md", holdout=False)
                add("tip_shown", "acme", user, at + timedelta(minutes=6),
                    tip_id="tips/save-your-weekly-filter.md")
                add("tip_clicked", "acme", user, at + timedelta(minutes=7),
                    tip_id="tips/save-your-weekly-filter.md")
    for n, user in enumerate(acme):
        add("article_viewed", "acme", user, day(50 - n),
            article_id="articles/getting-started/views-board-list-timeline.md")
        add("nps_response", "acme", user, day(20 + n), score=9 + n % 2)

    # birch: a few logins a week, three features, a handful of tickets, lukewarm.
    birch = [f"birch-{n}" for n in ("fatima", "gus", "hana", "ivan")]
    account("birch", "Birch & Co", 150, 150, birch)
    for back in range(1, 61):
        for n, user in enumerate(birch):
            if (back + n) % 3:
                continue
            at = day(back, 10 + n)
            add("login", "birch", user, at)
            add("feature_used", "birch", user, at + timedelta(minutes=1),
                feature=features[(back + n) % 3])
            if (back + n) % 9 == 0:
                add("article_viewed", "birch", user, at + timedelta(minutes=2),
                    article_id="articles/getting-started/tasks-basics.md")
    for user in birch[:2]:  # the same tip fired for two users the tips holdout keeps out
        add("tip_eligible", "birch", user, day(40), tip_id="tips/save-your-weekly-filter.md",
            holdout=True)
    for k in range(3):
        add("support_ticket", "birch", birch[k], day(4 + 7 * k), ticket_id=f"B-{k}",
            subject="export fails")
    add("nps_response", "birch", birch[0], day(12), score=7)

    # cobalt: busy until a month ago, then silence but for tickets; renewal is close.
    cobalt = [f"cobalt-{n}" for n in ("jo", "kai", "lena", "mo")]
    account("cobalt", HOSTILE_NAME, 400, 40, cobalt)
    for back in range(25, 61):
        for n, user in enumerate(cobalt):
            at = day(back, 9 + n)
            add("login", "cobalt", user, at)
            add("feature_used", "cobalt", user, at + timedelta(minutes=1),
                feature=features[(back + n) % 4])
            if (back + n) % 2 == 0:
                add("article_viewed", "cobalt", user, at + timedelta(minutes=2),
                    article_id="articles/how-to/tags.md")
    for k in range(7):
        add("support_ticket", "cobalt", cobalt[k % 4], day(2 + 3 * k), ticket_id=f"C-{k}",
            subject=["automation did not run", "cannot log in", "export fails"][k % 3])
    for n, user in enumerate(cobalt[:3]):  # reading about automations, which they never use
        add("article_viewed", "cobalt", user, day(5 + n),
            article_id="articles/how-to/automations.md")
    add("nps_response", "cobalt", cobalt[0], day(8), score=3)

    # dune: went quiet seven weeks ago.
    dune = [f"dune-{n}" for n in ("nia", "omar", "pia")]
    account("dune", "Dune Outfitters", 300, 120, dune)
    for back in range(50, 61):
        for n, user in enumerate(dune):
            add("login", "dune", user, day(back, 9 + n))
            add("feature_used", "dune", user, day(back, 9 + n) + timedelta(minutes=1),
                feature="tasks.create")
    return events


# (account, user, question, days ago): asked through the real chat service.
QUESTIONS = [
    ("acme", "acme-ana", "How do I turn on two-factor authentication?", 3),
    ("acme", "acme-ben", "can I edit a bunch of tasks at once", 6),
    ("birch", "birch-gus", "can I import tasks from a csv", 9),
    ("cobalt", "cobalt-jo", "is there a salesforce integration", 27),
    ("cobalt", "cobalt-kai", "can tasklane sync with salesforce crm", 26),
    ("cobalt", "cobalt-lena", "How do I change my notification settings?", 28),
    ("dune", "dune-nia", "do you have a hipaa baa", 52),
]


def tell(knowledge: Knowledge, data_dir: Path, now: datetime) -> None:
    """Write the story into ``data_dir``: events, questions, 30 days of health snapshots."""
    settings = knowledge.settings.model_copy(update={"data_dir": data_dir, "database_url": None})
    services = Services(settings, knowledge=knowledge)
    try:
        services.tenant_configs.update(DEFAULT_TENANT, plays={"launch_features": LAUNCHED})
        services.event_log.append(DEFAULT_TENANT, story(now))
        chat = replace(services.chat, learning=None)

        async def ask_all() -> None:
            for account_id, user, question, days_ago in QUESTIONS:
                caller = Caller(DEFAULT_TENANT, "end_user", user_id=user, account_id=account_id)
                turn = ChatTurn.validate(question, "sample", None, caller, chat)
                turn.asked_at = now - timedelta(days=days_ago)
                await turn.answer()

        # In a thread of its own: Playwright's sync API may already run a loop in this one.
        with ThreadPoolExecutor(1) as worker:
            worker.submit(asyncio.run, ask_all()).result()
        services.health.backfill(DEFAULT_TENANT, now, 30)
    finally:
        services.close()


# --- server, keys and pages ------------------------------------------------------------------


@dataclass
class Dashboard:
    base: str
    csm_key: str
    ingest_key: str

    def api(self, path: str) -> Any:
        response = httpx.get(f"{self.base}{path}", timeout=60,
                             headers={"authorization": f"Bearer {self.csm_key}"})
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def dashboard(sample_knowledge, tmp_path_factory) -> Iterator[Dashboard]:
    root = tmp_path_factory.mktemp("dashboard")
    data = Path(shutil.copytree(sample_knowledge.settings.data_dir, root / "data", symlinks=True))
    tell(sample_knowledge, data, datetime.now(UTC))
    access = AccessRegistry(open_database(None, data, "access.sqlite"))
    access.ensure_tenant(DEFAULT_TENANT)
    _, csm_key = access.create_key(DEFAULT_TENANT, "csm", "dashboard test")
    _, ingest_key = access.create_key(DEFAULT_TENANT, "ingest", "dashboard test")
    with pytest.MonkeyPatch.context() as mp:
        clear_learnloop_env(mp)
        with running_server(data, root, dev=False) as base:
            yield Dashboard(base, csm_key, ingest_key)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser, dashboard) -> Iterator[Page]:
    base = dashboard.base
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base)
                  else route.abort())
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    context.close()
    assert not errors, errors


def sign_in(page: Page, dashboard: Dashboard, key: str | None = None, where: str = "") -> None:
    """Open the dashboard; it asks for a key, which is typed into its form."""
    page.goto(f"{dashboard.base}/dashboard{where}")
    expect(page.locator("#auth")).to_be_visible()
    expect(page.locator("#auth-message")).to_have_text("This server needs an API key.")
    page.fill("#api-key", key or dashboard.csm_key)
    page.click("#key-form button[type=submit]")


def shows_content(path: Path, width: int) -> None:
    """The screenshot is a rendered page: not blank, not one flat colour, some colour in it."""
    image = Image.open(path).convert("RGB")
    assert image.width == width and image.height >= 600
    grey = image.convert("L")
    dark_share = sum(grey.histogram()[:160]) / (image.width * image.height)
    assert 0.005 < dark_share < 0.5, dark_share
    assert ImageStat.Stat(grey).stddev[0] > 8
    small = image.resize((image.width // 4, image.height // 4))
    pixels = small.tobytes()  # RGB, three bytes a pixel
    colours = {(pixels[i] // 32, pixels[i + 1] // 32, pixels[i + 2] // 32)
               for i in range(0, len(pixels), 3)}
    assert len(colours) >= 12, len(colours)


def shows_topics(rows: Locator, topics: list[dict[str, Any]], with_accounts: bool = False
                 ) -> None:
    """The table rows are the API's topics, in its order, with their numbers and examples."""
    expect(rows).to_have_count(len(topics))
    for i, topic in enumerate(topics):
        row = rows.nth(i)
        expect(row.locator(".topic-name")).to_have_text(topic["topic"])
        expect(row.locator(".count")).to_have_text(str(topic["count"]))
        others = [e for e in topic["examples"] if e != topic["topic"]]
        expect(row.locator(".examples li")).to_have_count(len(others))
        for reason, count in topic["reasons"].items():
            expect(row.locator(".reasons")).to_contain_text(f"{reason.replace('_', ' ')} {count}")
        if with_accounts:
            expect(row.locator(".accounts a")).to_have_count(min(6, len(topic["accounts"])))


# --- the tests -------------------------------------------------------------------------------


def test_accounts_riskiest_first_with_band_chips_and_names_as_text(page, dashboard):
    sign_in(page, dashboard)
    rows = page.locator("#accounts tbody tr")
    expect(rows).to_have_count(4)
    listed = dashboard.api("/v1/accounts")["accounts"]
    assert {a["account_id"]: a["band"] for a in listed} == EXPECTED_BANDS
    assert [a["score"] for a in listed] == sorted(a["score"] for a in listed)
    ids = [rows.nth(i).get_attribute("data-account-id") for i in range(4)]
    assert ids == [a["account_id"] for a in listed]
    for i, account in enumerate(listed):
        row = rows.nth(i)
        expect(row.locator(".chip")).to_have_text(account["band"])
        expect(row.locator(".chip")).to_have_class(f"chip {account['band']}")
        expect(row.locator(".score")).to_have_text(str(account["score"]))
        expect(row.locator("td").nth(3)).to_have_text(account["segment"].replace("_", " "))
        for code in account["signals"]:
            expect(row.locator(".signals-cell")).to_contain_text(code)
    cobalt = page.locator("tr[data-account-id=cobalt]")
    expect(cobalt.locator(".name a")).to_have_text(HOSTILE_NAME)
    expect(cobalt.locator("img")).to_have_count(0)
    assert page.evaluate("window.__xss") is None
    expect(cobalt.locator(".signals-cell")).to_contain_text("tickets_over_5_in_30d")
    expect(cobalt.locator(".soon")).to_be_visible()  # renewal within 90 days
    # The key is kept in the tab, never in the address.
    assert page.evaluate("sessionStorage.getItem('learnloop.apiKey')") == dashboard.csm_key
    assert dashboard.csm_key not in page.url


def test_band_filter_asks_the_api_for_one_band(page, dashboard):
    sign_in(page, dashboard)
    expect(page.locator("#accounts tbody tr")).to_have_count(4)
    with page.expect_request(lambda r: "/v1/accounts?band=red" in r.url) as request:
        page.click(".filters a[data-band=red]")
    assert request.value.headers["authorization"] == f"Bearer {dashboard.csm_key}"
    rows = page.locator("#accounts tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator(".filters a.active")).to_have_text("Red 2")
    assert {rows.nth(i).get_attribute("data-band") for i in range(2)} == {"red"}
    page.click(".filters a[data-band=green]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-account-id", "acme")
    page.click(".filters a[data-band=all]")
    expect(rows).to_have_count(4)


def test_account_page_explains_the_score(page, dashboard, tmp_path_factory):
    sign_in(page, dashboard)
    page.click("tr[data-account-id=cobalt] td.score")
    expect(page).to_have_url(f"{dashboard.base}/dashboard#/accounts/cobalt")
    health = dashboard.api("/v1/accounts/cobalt/health")
    expect(page.locator("#account-name")).to_have_text(HOSTILE_NAME)
    expect(page.locator("#account-score")).to_have_text(f"{health['score']} · red")

    # The trend: a line through the daily snapshots, with the 60 and 80 thresholds drawn.
    line = page.locator("#trend svg path.trend-line")
    expect(line).to_have_attribute("data-points", str(len(health["trend"])))
    assert len(health["trend"]) >= 25
    assert line.get_attribute("d").count("L") == len(health["trend"]) - 1
    expect(page.locator("#trend line.threshold-60")).to_have_count(1)
    expect(page.locator("#trend line.threshold-80")).to_have_count(1)

    components = page.locator("#components .component")
    expect(components).to_have_count(4)
    support = page.locator("#components [data-component=support]")
    expect(support.locator(".value")).to_contain_text(
        f"{round(health['components']['support']['score'])} · w 15%")

    tickets = page.locator("#signals li[data-code=tickets_over_5_in_30d]")
    expect(tickets.locator(".severity")).to_have_text("medium")
    evidence = next(s for s in health["signals"] if s["code"] == "tickets_over_5_in_30d")
    expect(tickets.locator(".evidence li")).to_have_count(len(evidence["evidence"]))
    expect(tickets.locator(".evidence")).to_contain_text(evidence["evidence"][0])
    expect(page.locator("#signals li[data-code=renewal_within_90d]")).to_be_visible()
    expect(page.locator("#signals li[data-code=no_login_14d]")).to_be_visible()

    # Each question with how it was answered (declined, or shaky below 0.5 confidence).
    questions = page.locator("#questions li")
    expect(questions).to_have_count(3)
    logged = dashboard.api("/v1/accounts/cobalt/events?types=answer_given")["events"]
    for answer in (e["properties"] for e in logged):
        state = ("declined" if not answer["answered"] else
                 "low" if answer["confidence"] < 0.5 else "answered")
        expect(questions.filter(has_text=answer["question"])).to_have_attribute(
            "data-state", state)
    salesforce = questions.filter(has_text="is there a salesforce integration")
    expect(salesforce.locator(".pill")).to_have_text(re.compile("declined|low confidence"))

    # The page shows the account's content gaps as the API lists them; its declined
    # salesforce question is one (a help-center question, though no article answers it).
    unanswered = dashboard.api("/v1/insights/content-gaps?account_id=cobalt&days=120")
    assert any("salesforce" in t["topic"] for t in unanswered["topics"])
    shows_topics(page.locator("#unanswered .topic"), unanswered["topics"])

    learners = page.locator("#learning tbody tr")
    expect(learners).to_have_count(4)
    jo = page.locator("#learning tr[data-user-id=cobalt-jo]")
    learning = dashboard.api("/v1/accounts/cobalt/learning")
    percent = next(u for u in learning["users"] if u["user_id"] == "cobalt-jo")["progress"]
    expect(jo.locator(".percent")).to_have_text(f"{percent['percent']}%")
    mine = dashboard.api("/v1/users/cobalt-jo/learning?account_id=cobalt&limit=1")
    expect(jo.locator(".next-step")).to_contain_text(mine["next_steps"][0]["title"])

    shots = tmp_path_factory.getbasetemp() / SCREENSHOTS
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / "account.png"), full_page=True)
    shows_content(shots / "account.png", 1280)


def test_accounts_list_shows_and_filters_by_play(page, dashboard):
    sign_in(page, dashboard)
    rows = page.locator("#accounts tbody tr")
    expect(rows).to_have_count(4)
    for account in dashboard.api("/v1/accounts")["accounts"]:
        tags = page.locator(f"tr[data-account-id={account['account_id']}] .plays-cell .play-tag")
        expect(tags).to_have_count(len(account["plays"]))
        for i, name in enumerate(account["plays"]):
            expect(tags.nth(i)).to_have_attribute("data-play", name)
    for play, expected in EXPECTED_PLAYS.items():
        listed = dashboard.api(f"/v1/accounts?play={play}")["accounts"]
        assert {a["account_id"] for a in listed} == expected, play
        with page.expect_request(lambda r, p=play: f"/v1/accounts?play={p}" in r.url) as request:
            page.select_option("#play-filter", play)
        assert request.value.headers["authorization"] == f"Bearer {dashboard.csm_key}"
        expect(page).to_have_url(f"{dashboard.base}/dashboard#/accounts?play={play}")
        if not expected:
            expect(page.locator(".card.muted")).to_have_text(
                f"No accounts: {play.replace('_', ' ')}.")
            continue
        expect(rows).to_have_count(len(expected))
        for i, account in enumerate(listed):  # expect waits for the new list to render
            expect(rows.nth(i)).to_have_attribute("data-account-id", account["account_id"])
        expect(page.locator("#play-filter option:checked")).to_contain_text(
            f"({len(expected)})")
    # The band filter keeps the play: red accounts to win back.
    page.select_option("#play-filter", "dormant_win_back")
    page.click(".filters a[data-band=red]")
    expect(page).to_have_url(f"{dashboard.base}/dashboard#/accounts?band=red&play=dormant_win_back")
    expect(rows).to_have_count(2)
    page.select_option("#play-filter", "")
    expect(rows).to_have_count(2)  # still red
    page.click(".filters a[data-band=all]")
    expect(rows).to_have_count(4)


def test_account_page_shows_the_plays_to_run(page, dashboard, tmp_path_factory):
    sign_in(page, dashboard, where="#/accounts/cobalt")
    health = dashboard.api("/v1/accounts/cobalt/health")
    assert [p["play"] for p in health["plays"]] == ["dormant_win_back", "feature_launch"]
    cards = page.locator("#plays li[data-play]")
    expect(cards).to_have_count(2)
    for i, play in enumerate(health["plays"]):
        card = cards.nth(i)
        expect(card).to_have_attribute("data-play", play["play"])
        expect(card.locator(".why")).to_have_text(play["why"])
        expect(card.locator(".steps li")).to_have_text(play["steps"])
        expect(card.locator(".evidence li")).to_have_text(play["evidence"])
    launch = page.locator("#plays li[data-play=feature_launch]")
    expect(launch.locator(".evidence")).to_contain_text(
        "automations.create: launched, not used in 30 d; read about it 3× in 30 d")
    expect(launch.locator(".steps")).to_contain_text("Automate routine work with rules")

    # What a person sees: the plays card rendered with its text and its blue play borders.
    shots = tmp_path_factory.getbasetemp() / SCREENSHOTS
    shots.mkdir(exist_ok=True)
    section = page.locator("#plays")
    section.screenshot(path=str(shots / "plays.png"))
    image = Image.open(shots / "plays.png").convert("RGB")
    box = section.bounding_box()
    assert abs(image.width - box["width"]) <= 2 and image.height >= 150
    grey = image.convert("L")
    dark = sum(grey.histogram()[:120]) / (image.width * image.height)
    assert 0.01 < dark < 0.4, dark  # text on a light card
    pixels = image.tobytes()
    blue = sum(1 for i in range(0, len(pixels), 3)
               if abs(pixels[i] - 47) < 20 and abs(pixels[i + 1] - 91) < 20
               and abs(pixels[i + 2] - 234) < 20)
    assert blue > 2 * 4 * 100, blue  # two cards' 4 px borders, each over 100 px tall


def test_content_gaps_page_lists_topics_with_their_accounts(page, dashboard, tmp_path_factory):
    sign_in(page, dashboard, where="#/gaps?days=90")
    topics = page.locator("table.gaps tr.topic")
    found = {}
    for days in (90, 30, 120):
        if days != 90:
            page.click(f".filters a[data-days='{days}']")
        expect(page.locator(".filters a.active")).to_have_text(f"{days} days")
        found[days] = dashboard.api(f"/v1/insights/content-gaps?days={days}")
        expect(page.locator(".tally")).to_contain_text(
            f"{found[days]['questions']} question")
        shows_topics(topics, found[days]["topics"], with_accounts=True)
    # The quiet account's HIPAA question is seven weeks old: in the 120-day view only.
    assert found[30]["questions"] < found[120]["questions"]
    assert not any("hipaa" in t["topic"] for t in found[30]["topics"])
    hipaa = topics.filter(has_text="hipaa")
    expect(hipaa.locator(".accounts a")).to_have_text("Dune Outfitters")
    hipaa.locator(".accounts a").click()
    expect(page).to_have_url(f"{dashboard.base}/dashboard#/accounts/dune")
    expect(page.locator("#account-name")).to_have_text("Dune Outfitters")

    page.goto(f"{dashboard.base}/dashboard#/accounts")
    expect(page.locator("#accounts tbody tr")).to_have_count(4)
    shots = tmp_path_factory.getbasetemp() / SCREENSHOTS
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / "accounts.png"), full_page=True)
    shows_content(shots / "accounts.png", 1280)


def test_tips_page_shows_engagement_and_adoption_against_the_holdout(
        page, dashboard, tmp_path_factory):
    sign_in(page, dashboard, where="#/tips?days=90")
    row = page.locator('table.tips tr.tip[data-tip="tips/save-your-weekly-filter.md"]')
    expect(row).to_be_visible()
    [api] = [t for t in dashboard.api("/v1/insights/tips?days=90")["tips"]
             if t["tip_id"] == "tips/save-your-weekly-filter.md"]
    assert (api["shown"], api["eligible_holdout"]) == (5, 2)
    assert row.locator("td.shown").inner_text() == "5"
    assert "2 held out" in row.locator("td.eligible").inner_text()
    assert row.locator("td.engagement").inner_text().split() == ["100", "%", "excellent"]
    assert api["adoption"]["holdout"]["adopted"] == 0 and api["adoption"]["shown"]["adopted"] > 0
    assert "pts" in row.inner_text()
    expect(page.locator("nav a.active")).to_have_text("Tips")
    shots = tmp_path_factory.mktemp(SCREENSHOTS)
    page.screenshot(path=str(shots / "tips.png"), full_page=True)
    shows_content(shots / "tips.png", page.viewport_size["width"])


def test_a_wrong_or_unfit_key_is_refused_with_a_clear_message(page, dashboard):
    sign_in(page, dashboard, key="not-a-key")
    message = page.locator("#auth-message")
    expect(message).to_contain_text("The API key was not accepted (401)")
    expect(page.locator("#api-key")).to_be_visible()
    expect(page.locator("#accounts")).to_have_count(0)
    assert page.evaluate("sessionStorage.getItem('learnloop.apiKey')") is None

    page.fill("#api-key", dashboard.ingest_key)
    page.click("#key-form button[type=submit]")
    expect(message).to_contain_text("may not read account health (403)")
    expect(message).to_contain_text("role 'ingest' may not do this")

    page.fill("#api-key", dashboard.csm_key)
    page.click("#key-form button[type=submit]")
    expect(page.locator("#accounts tbody tr")).to_have_count(4)
    expect(page.locator("#auth")).to_be_hidden()
    page.click("#forget-key")
    expect(page.locator("#auth-message")).to_have_text("This server needs an API key.")


def test_the_page_itself_needs_no_key(dashboard):
    response = httpx.get(f"{dashboard.base}/dashboard", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "innerHTML" not in response.text  # data goes in as text only
