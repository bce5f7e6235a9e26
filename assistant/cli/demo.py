"""``learnloop demo seed``: 120 days of a believable customer base, so the dashboard lives.

Four behaviour cohorts over 24 accounts and about 150 users — power, casual, at-risk
(usage and learning fall away in the last month while tickets pile up, renewal is near)
and dormant (gone quiet weeks ago) — with logins, feature use, support tickets, NPS,
articles read, learning-path steps, and questions asked through the real chat service (so
answers, declines and content gaps are the assistant's own). Tips fire for users as they
work: each is recorded as eligible; the tenant's holdout users never see it, the others see
it and click, dismiss or answer it, and some adopt what it teaches — more often after
seeing it, so the tips insight has a lift to show.
The default tenant gets a launched feature (``LAUNCHED``) unless it already has one, and one
casual account reads about it, so every play of account health has an account to show it.

Everything is seeded from a fixed random seed and every event id is deterministic, so a
second run stores nothing twice. Times are relative to the moment of seeding.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from assistant.access.registry import DEFAULT_TENANT, Caller
from assistant.access.tenant_config import TenantConfigs
from assistant.chat.turns import ChatParts, ChatTurn
from assistant.errors import ErrorCode, LearnloopError
from assistant.events.log import EventLog
from assistant.events.model import Event
from assistant.knowledge.base import Knowledge
from assistant.knowledge.catalog import DocumentRow
from assistant.tips.delivery import holdout_bucket
from assistant.tips.library import Tip
from assistant.tips.service import tips_from_documents

__all__ = ["SeedReport", "seed_demo"]

DAYS = 120
_COMPANIES = [
    "Acme Logistics", "Brightside Dental", "Cobalt Studio", "Driftwood Realty", "Evergreen Labs",
    "Foxglove Events", "Granite Legal", "Harbor Coffee", "Ironclad Builders", "Juniper Health",
    "Kestrel Media", "Lumen Schools", "Maple & Co", "Northwind Travel", "Orchid Retail",
    "Pinecrest Finance", "Quarry Analytics", "Redwood Nonprofit", "Summit Fitness",
    "Tidewater Shipping", "Umbra Games", "Violet Bakery", "Willow Architects", "Yarrow Farms",
]
_COHORTS = ["power"] * 6 + ["casual"] * 8 + ["at_risk"] * 6 + ["dormant"] * 4
# The feature "just launched" for the feature-launch play (with its prerequisite), and the
# casual account whose users have been reading about it.
LAUNCHED = {"reports.schedule": ["dashboards.create"]}
_LAUNCH_READERS = "acct-07"
_FIRST = ["Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jo", "Kai",
          "Lena", "Mo", "Nia", "Omar", "Pia", "Quinn", "Ravi", "Sofia", "Tom", "Uma", "Vik"]
# Questions customers type, answerable from the sample help center …
_QUESTIONS = [
    "how do I turn on two factor auth", "can I edit a bunch of tasks at once",
    "how do i make a task repeat every monday", "where do I change my notification emails",
    "how to invite people to my workspace", "can I import tasks from a csv",
    "how do I schedule a report to go out every week", "how do I export my projects",
    "set up slack notifications", "what are tags for", "how do i archive a project",
    "how do I track time on a task", "make a template from a project",
    "how do dependencies between tasks work", "timeline view how to", "connect google calendar",
    "how do I save a filter", "reset my password", "how do I add a custom field",
    "create an automation when status changes", "¿cómo activo la autenticación en dos pasos?",
    "¿cómo exporto mis proyectos?", "how do webhooks work", "configure sso with okta",
]
# … and ones it cannot answer: the content gaps the insights page should surface.
_GAP_QUESTIONS = [
    "is there a salesforce integration", "can tasklane sync with salesforce crm",
    "does the app work offline", "can I use tasklane without internet on a plane",
    "can I see a gantt chart", "gantt view with critical path?",
    "how much does the enterprise plan cost for 80 seats", "do you have a hipaa baa",
]


@dataclass
class SeedReport:
    accounts: int = 0
    users: int = 0
    events: int = 0
    duplicates: int = 0
    questions: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class _User:
    id: str
    role: str
    joined_day: int  # days before now


@dataclass
class _Content:
    articles: list[DocumentRow]
    tips: list[Tip]
    features: list[str]
    basic_features: list[str]


def seed_demo(
    chat: ChatParts,
    kb_name: str = "sample",
    now: datetime | None = None,
    seed: int = 7,
    configs: TenantConfigs | None = None,
) -> SeedReport:
    """Fill the default tenant's engagement log (and conversations) with demo history; the
    questions go through ``chat`` as their users, so the log holds what the service wrote.
    With ``configs``, the default tenant gets ``LAUNCHED`` if it has no launched feature."""
    knowledge, event_log = chat.knowledge, chat.event_log
    if event_log is None:
        raise ValueError("the demo seed needs chat parts with an event log")
    if not knowledge.exists(kb_name):
        raise LearnloopError(
            ErrorCode.kb_not_found,
            f"knowledge base '{kb_name}' does not exist; ingest it first "
            f"(`learnloop ingest knowledge --kb {kb_name}`)",
        )
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    if configs is not None and not configs.get(DEFAULT_TENANT).plays.launch_features:
        plays = configs.get(DEFAULT_TENANT).plays.model_dump()
        configs.update(DEFAULT_TENANT, plays={**plays, "launch_features": LAUNCHED})
    holdout_percent = configs.get(DEFAULT_TENANT).tip_holdout_percent if configs else 10
    rng = random.Random(seed)
    content = _content(knowledge, kb_name)
    report = SeedReport()
    questions: list[tuple[str, str, str, datetime]] = []
    batch: list[Event] = []
    for index, (company, cohort) in enumerate(zip(_COMPANIES, _COHORTS, strict=True)):
        account = f"acct-{index + 1:02d}"
        users = _users(rng, account, cohort)
        report.accounts += 1
        report.users += len(users)
        for event in _account_history(rng, account, company, cohort, users, content, now,
                                      holdout_percent):
            if event.type == "question_asked":  # asked through the chat service below
                questions.append((account, str(event.user_id),
                                  str(event.properties["question"]), event.ts))
                continue
            batch.append(event)
            if len(batch) >= 1000:
                _flush(event_log, batch, report)
    _flush(event_log, batch, report)
    if report.events:  # a first seeding; a repeat would ask every question again
        report.questions = _ask(chat, kb_name, questions)
    return report


def _flush(event_log: EventLog, batch: list[Event], report: SeedReport) -> None:
    appended = event_log.append(DEFAULT_TENANT, batch)
    report.events += appended.accepted
    report.duplicates += appended.duplicates
    batch.clear()


def _content(knowledge: Knowledge, kb_name: str) -> _Content:
    documents = knowledge.get(kb_name).catalog.documents()
    articles = [d for d in documents if d.kind == "article" and d.locale.startswith("en")]
    tips = tips_from_documents(documents)
    features = sorted({d.feature for d in documents if d.feature})
    basic = sorted({d.feature for d in documents if d.feature and d.level == "beginner"})
    return _Content(articles, tips, features, basic or features[:5])


def _users(rng: random.Random, account: str, cohort: str) -> list[_User]:
    count = {"power": rng.randint(8, 14), "casual": rng.randint(4, 8),
             "at_risk": rng.randint(4, 9), "dormant": rng.randint(3, 5)}[cohort]
    users = []
    for n in range(count):
        role = "admin" if n == 0 else ("manager" if n % 4 == 1 else "end_user")
        # Most joined early; some join along the way, so stages differ within an account.
        joined = rng.randint(95, 119) if n < count * 0.6 else rng.randint(3, 90)
        users.append(_User(f"{account}-{_FIRST[n % len(_FIRST)].lower()}{n}", role, joined))
    return users


def _account_history(
    rng: random.Random, account: str, company: str, cohort: str, users: list[_User],
    content: _Content, now: datetime, holdout_percent: int,
) -> Iterator[Event]:
    serial = iter(range(10**9))

    def event(kind: str, user: str | None, ts: datetime, **properties: Any) -> Event:
        # The id depends on the seed and the event's place in the story, not on the clock,
        # so seeding again (another day) stores nothing twice.
        return Event(f"demo-{account}-{next(serial)}", kind, account, user, ts, properties)

    age = {"power": 300, "casual": 200, "at_risk": 400, "dormant": 260}[cohort]
    if account in ("acct-03", "acct-09", "acct-16"):
        age = rng.randint(12, 28)  # a few new accounts
    created = now - timedelta(days=age)
    renewal = now + timedelta(days=rng.randint(20, 80) if cohort == "at_risk"
                              else rng.randint(100, 300))
    start = max(created, now - timedelta(days=DAYS))
    yield event("account_updated", None, start, name=company,
                plan=rng.choice(["team", "business", "enterprise"]),
                seats=len(users) + rng.randint(0, 10), created_at=created.date().isoformat(),
                renewal_date=renewal.date().isoformat(), status="active")
    adopted = {u.id: set(rng.sample(content.basic_features, min(2, len(content.basic_features))))
               for u in users}
    for user in users:
        joined = max(start, now - timedelta(days=user.joined_day))
        yield event("user_updated", user.id, joined, role=user.role,
                    created_at=joined.date().isoformat(),
                    locale="es-ES" if rng.random() < 0.15 else "en-US")
    offered: dict[str, set[str]] = {u.id: set() for u in users}
    day = start
    while day < now:
        days_ago = (now - day).days
        for user in users:
            if day < now - timedelta(days=user.joined_day):
                continue
            activity = _activity(cohort, days_ago)
            if rng.random() > activity["login"]:
                continue
            at = day + timedelta(hours=rng.randint(8, 18), minutes=rng.randint(0, 59))
            if at >= now:
                continue
            yield event("login", user.id, at)
            for _ in range(rng.randint(1, activity["features"])):
                pool = content.features if cohort == "power" else content.basic_features
                feature = rng.choice(sorted(adopted[user.id] | {rng.choice(pool)}))
                adopted[user.id].add(feature)
                yield event("feature_used", user.id, at + timedelta(minutes=1),
                            feature=feature)
            if rng.random() < activity["learn"] and content.articles:
                article = rng.choice(content.articles)
                yield event("article_viewed", user.id, at + timedelta(minutes=3),
                            article_id=article.id)
            if rng.random() < activity["learn"] / 2 and content.tips:
                tip = rng.choice(content.tips)
                if tip.id not in offered[user.id]:  # a tip fires once per user in the story
                    offered[user.id].add(tip.id)
                    held = holdout_bucket(DEFAULT_TENANT, user.id) < holdout_percent
                    yield from _tip_story(event, rng, user.id, tip, at, now, cohort, held)
            if rng.random() < activity["ask"]:
                pool = _GAP_QUESTIONS if rng.random() < 0.25 else _QUESTIONS
                yield event("question_asked", user.id, at + timedelta(minutes=6),
                            question=rng.choice(pool))
        if rng.random() < _ticket_rate(cohort, days_ago):
            user = rng.choice(users)
            if day >= now - timedelta(days=user.joined_day):
                yield event("support_ticket", user.id, day + timedelta(hours=11),
                            ticket_id=f"T-{account}-{days_ago}",
                            subject=rng.choice(["export fails", "cannot log in",
                                                "automation did not run", "billing question"]))
        day += timedelta(days=1)
    # Renewal outcomes for the education-retention insight: most power and some casual
    # accounts renewed last quarter, two dormant ones have left.
    outcome = {"power": "renewed" if rng.random() < 0.85 else None,
               "casual": "renewed" if rng.random() < 0.5 else None,
               "dormant": "churned" if rng.random() < 0.6 else None}.get(cohort)
    if outcome:
        yield event("account_updated", None, now - timedelta(days=rng.randint(10, 60)),
                    status=outcome)
    if account == _LAUNCH_READERS:  # two users read up on the launched feature this week
        guides = [a for a in content.articles if a.feature in LAUNCHED]
        for n, (user, guide) in enumerate(zip(users[:2], guides * 2, strict=False)):
            yield event("article_viewed", user.id, now - timedelta(days=2 + n, hours=3),
                        article_id=guide.id)
    for user in rng.sample(users, min(3, len(users))):
        score = {"power": rng.randint(9, 10), "casual": rng.randint(7, 8),
                 "at_risk": rng.randint(2, 6), "dormant": rng.randint(5, 7)}[cohort]
        # A dormant account answered its last survey before it went quiet.
        at = now - timedelta(days=rng.randint(45, 90) if cohort == "dormant"
                             else rng.randint(5, 40))
        if at > now - timedelta(days=user.joined_day):
            yield event("nps_response", user.id, at, score=score)


def _tip_story(
    event: Callable[..., Event], rng: random.Random, user: str, tip: Tip, at: datetime,
    now: datetime, cohort: str, held: bool,
) -> Iterator[Event]:
    """A tip's trigger fired for ``user`` at ``at``: recorded as eligible; a holdout user sees
    nothing, the others see it and click, dismiss or answer it; some adopt what it teaches
    within ten days, more often after seeing (and most after clicking) it."""
    yield event("tip_eligible", user, at + timedelta(minutes=4), tip_id=tip.id, holdout=held,
                fired_at=at.isoformat())
    adopt = 0.12
    if not held:
        yield event("tip_shown", user, at + timedelta(minutes=4), tip_id=tip.id,
                    session_id=f"{user}-{at.date().isoformat()}")
        adopt = 0.2
        if rng.random() < (0.5 if cohort == "power" else 0.25):
            yield event("tip_clicked", user, at + timedelta(minutes=5), tip_id=tip.id)
            adopt = 0.45
        elif rng.random() < 0.3:
            scope = "category" if rng.random() < 0.2 else "tip"
            yield event("tip_dismissed", user, at + timedelta(minutes=5), tip_id=tip.id,
                        scope=scope)
            adopt = 0.05
        elif rng.random() < 0.3:
            yield event("tip_feedback", user, at + timedelta(minutes=5), tip_id=tip.id,
                        feedback=rng.choice(["helpful_not_tried", "not_relevant", "unclear"]))
    adopted_at = at + timedelta(days=rng.uniform(0.1, 10))
    if tip.adoption and tip.adoption[0] == "feature_used" and tip.adoption[1] and (
        adopted_at < now and rng.random() < adopt
    ):
        yield event("feature_used", user, adopted_at, feature=tip.adoption[1])


def _activity(cohort: str, days_ago: int) -> dict[str, Any]:
    """Daily chances for one user: log in, how many features, read/learn, ask."""
    if cohort == "power":
        return {"login": 0.8, "features": 6, "learn": 0.2, "ask": 0.04}
    if cohort == "casual":
        return {"login": 0.3, "features": 2, "learn": 0.08, "ask": 0.03}
    if cohort == "at_risk":  # engaged until about a month ago, then it falls away
        if days_ago > 30:
            return {"login": 0.5, "features": 3, "learn": 0.15, "ask": 0.04}
        return {"login": 0.08, "features": 1, "learn": 0.01, "ask": 0.03}
    if days_ago > 40:  # dormant: went quiet weeks ago
        return {"login": 0.25, "features": 2, "learn": 0.05, "ask": 0.02}
    return {"login": 0.0, "features": 0, "learn": 0.0, "ask": 0.0}


def _ticket_rate(cohort: str, days_ago: int) -> float:
    if cohort == "at_risk" and days_ago <= 30:
        return 0.3  # ~9 tickets in the last month
    return {"power": 0.03, "casual": 0.02, "at_risk": 0.04, "dormant": 0.02}[cohort]


def _ask(
    chat: ChatParts,
    kb_name: str,
    questions: list[tuple[str, str, str, datetime]],
) -> int:
    """Each question through the chat service as its user, at its time in the history."""

    async def ask_all() -> int:
        asked = 0
        for account, user, question, ts in questions:
            caller = Caller(DEFAULT_TENANT, "end_user", user_id=user, account_id=account)
            turn = ChatTurn.validate(question, kb_name, None, caller, chat)
            turn.asked_at = ts
            await turn.answer()
            asked += 1
        return asked

    return asyncio.run(ask_all())
