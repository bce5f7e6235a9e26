"""Every delivery rule of DESIGN "Tips", on a fixed clock, with the log as it would be."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from assistant.events.model import EventRow
from assistant.tips.delivery import (
    Decision,
    DeliveryRules,
    TipHistory,
    decide,
    holdout_bucket,
)
from assistant.tips.library import Tip, tip_from_metadata

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
NO_HOLDOUT = DeliveryRules(spacing_days=2, holdout_percent=0)


def tip(tip_id: str, *, trigger: str | None = "contact_created >= 5 within 1d",
        feature: str = "contacts.import", level: str = "beginner", audience: str = "end_user",
        **meta: Any) -> Tip:
    if trigger is not None:
        meta["trigger"] = trigger
    return tip_from_metadata(tip_id, tip_id.title(), meta, feature=feature, level=level,
                             audience=audience, url=None, locale=meta.pop("locale", "en"))


def row(kind: str, at: datetime, subject: str | None = None, **props: Any) -> EventRow:
    key = {"feature_used": "feature"}.get(kind, "tip_id")
    if subject is not None:
        props = {key: subject, **props}
    return EventRow("acme", "u1", kind, subject, int(at.timestamp() * 1000), json.dumps(props))


def burst(at: datetime, name: str = "contact_created", n: int = 5) -> list[EventRow]:
    return [row("feature_used", at + timedelta(minutes=i), name) for i in range(n)]


class Log:
    """One user's log; ``next`` asks the rules at a time and session, like the service."""

    def __init__(self, *tips: Tip, joined: datetime = NOW - timedelta(days=40)) -> None:
        self.tips = list(tips)
        self.rows = [row("user_updated", joined, None, created_at=joined.isoformat())]

    def add(self, *rows: EventRow) -> None:
        self.rows.extend(rows)

    def next(self, session: str, at: datetime = NOW, rules: DeliveryRules = NO_HOLDOUT,
             user: str = "u1", **kw: Any) -> Decision:
        rows = sorted((r for r in self.rows if r.ts_ms <= at.timestamp() * 1000),
                      key=lambda r: r.ts_ms)
        history = TipHistory.from_rows(rows, {t.id: t.category for t in self.tips})
        fired = {t.id: t.trigger.last_fired(rows) for t in self.tips if t.trigger}
        decision = decide(self.tips, history, fired, tenant="acme", user_id=user,
                          session_id=session, now=at, rules=rules, **kw)
        if decision.new_show and decision.tip:  # what the service records
            self.add(row("tip_shown", at, decision.tip.id, session_id=session))
        return decision


def test_a_fired_tip_is_shown_once_per_session_and_offered_again_until_acted_on():
    log = Log(tip("bulk-import"), tip("templates", trigger="project_created >= 3 within 1d",
                                      feature="templates.use"))
    assert log.next("s1").reason == "no eligible tip"
    log.add(*burst(NOW - timedelta(hours=2)))
    first = log.next("s1")
    assert first.tip is not None and first.tip.id == "bulk-import" and first.new_show
    assert "contact_created 5x within 1d" in first.reason
    again = log.next("s1", NOW + timedelta(minutes=5))
    assert again.tip is not None and again.tip.id == "bulk-import" and not again.new_show
    log.add(row("tip_clicked", NOW + timedelta(minutes=6), "bulk-import"))
    log.add(*burst(NOW + timedelta(minutes=7), "project_created", 3))
    capped = log.next("s1", NOW + timedelta(minutes=10))
    assert capped.tip is None and capped.reason.startswith("session cap")
    assert [e.tip.id for e in capped.eligible] == ["templates"]  # eligible, but not now


def test_spacing_defers_a_tip_instead_of_dropping_it_and_high_priority_may_skip_it():
    log = Log(tip("bulk-import"), tip("templates", trigger="project_created >= 3 within 1d",
                                      feature="templates.use"),
              tip("security", trigger="login_failed >= 3 within 1d", feature="sso.enable",
                  priority="high"))
    log.add(*burst(NOW - timedelta(hours=1)))
    assert log.next("s1").tip.id == "bulk-import"
    log.add(*burst(NOW + timedelta(hours=1), "project_created", 3))
    spaced = log.next("s2", NOW + timedelta(hours=3))
    assert spaced.tip is None and spaced.reason == "spacing: next after 2026-12-06T12:00Z"
    # Three days later the firing still counts (deferred, not dropped).
    later = log.next("s3", NOW + timedelta(days=3))
    assert later.tip is not None and later.tip.id == "templates"
    # A high-priority tip skips the spacing, never the session cap.
    log.add(*burst(NOW + timedelta(days=3, hours=1), "login_failed", 3))
    log.add(row("tip_clicked", NOW + timedelta(days=3, hours=1), "templates"))
    assert log.next("s3", NOW + timedelta(days=3, hours=2)).reason.startswith("session cap")
    urgent = log.next("s4", NOW + timedelta(days=3, hours=2))
    assert urgent.tip is not None and urgent.tip.id == "security"
    # A firing older than the deferral window (14 days) is dropped.
    stale = Log(tip("bulk-import"))
    stale.add(*burst(NOW - timedelta(days=15)))
    assert stale.next("s1").reason == "no eligible tip"


def test_spacing_is_the_tenants_setting():
    log = Log(tip("a"), tip("b", trigger="project_created >= 3 within 1d", feature="b.use"))
    log.add(*burst(NOW - timedelta(hours=1)), *burst(NOW, "project_created", 3))
    log.next("s1")
    weekly = DeliveryRules(spacing_days=7, holdout_percent=0)
    assert log.next("s2", NOW + timedelta(days=3), weekly).reason.startswith("spacing")
    assert log.next("s2", NOW + timedelta(days=3)).tip is not None  # the default 2 days


def test_a_dismissed_tip_stays_hidden_30_days_even_when_its_trigger_fires_again():
    log = Log(tip("bulk-import"))
    log.add(*burst(NOW - timedelta(hours=1)))
    log.next("s1")
    log.add(row("tip_dismissed", NOW + timedelta(minutes=1), "bulk-import", scope="tip"))
    log.add(*burst(NOW + timedelta(days=5)))
    hidden = log.next("s2", NOW + timedelta(days=5, hours=1))
    assert hidden.tip is None and hidden.reason == "dismissed until 2027-01-03T12:01Z"
    log.add(*burst(NOW + timedelta(days=31)))
    back = log.next("s3", NOW + timedelta(days=31, hours=1))
    assert back.tip is not None and back.tip.id == "bulk-import"


def test_a_tip_taken_up_or_shown_twice_is_not_offered_again():
    log = Log(tip("bulk-import"))
    for week in range(3):  # the behaviour recurs weekly; the user never responds
        log.add(*burst(NOW + timedelta(days=7 * week)))
        log.next(f"s{week}", NOW + timedelta(days=7 * week, hours=1))
    shows = [r for r in log.rows if r.type == "tip_shown"]
    assert len(shows) == 2
    assert log.next("s9", NOW + timedelta(days=14, hours=2)).reason == (
        "retired: tip 'bulk-import' was shown 2 times already")
    clicked = Log(tip("bulk-import"))
    clicked.add(*burst(NOW))
    clicked.next("s1", NOW + timedelta(hours=1))
    clicked.add(row("tip_clicked", NOW + timedelta(hours=1), "bulk-import"))
    clicked.add(*burst(NOW + timedelta(days=7)))
    assert clicked.next("s2", NOW + timedelta(days=7, hours=1)).reason.startswith(
        "already taken up")


def test_not_like_this_hides_the_category_and_pause_hides_every_tip_for_30_days():
    log = Log(tip("bulk-import", category="contacts"),
              tip("dedupe", trigger="contact_merged >= 2 within 7d", feature="contacts.dedupe",
                  category="contacts"),
              tip("reports", trigger="report.viewed on 2 consecutive days",
                  feature="reports.schedule"))
    log.add(*burst(NOW - timedelta(hours=1)))
    log.next("s1")
    log.add(row("tip_dismissed", NOW + timedelta(minutes=1), "bulk-import", scope="category"))
    log.add(*burst(NOW + timedelta(days=3), "contact_merged", 2))
    assert log.next("s2", NOW + timedelta(days=3, hours=1)).reason == (
        "not like this: category 'contacts' hidden"
    )
    log.add(row("tip_dismissed", NOW + timedelta(days=3, hours=2), "dedupe", scope="all"))
    log.add(row("feature_used", NOW + timedelta(days=4), "report.viewed"),
            row("feature_used", NOW + timedelta(days=5), "report.viewed"))
    paused = log.next("s3", NOW + timedelta(days=5, hours=1))
    assert paused.tip is None and paused.reason == "paused: all tips paused until 2027-01-06T14:00Z"
    assert [e.tip.id for e in paused.eligible] == ["dedupe", "reports"]  # qualify, hidden
    log.add(row("feature_used", NOW + timedelta(days=34), "report.viewed"),
            row("feature_used", NOW + timedelta(days=35), "report.viewed"))
    assert log.next("s4", NOW + timedelta(days=35, hours=1)).tip.id == "reports"


def test_eligibility_fits_stage_role_plan_and_skips_what_the_user_already_adopted():
    tips = [tip("advanced", level="advanced", feature="api.tokens"),
            tip("managers", audience="manager", feature="reports.schedule"),
            tip("business", plans=["business", "enterprise"], feature="sso.enable"),
            tip("adopted", feature="contacts.import")]
    new_user = Log(*tips, joined=NOW - timedelta(days=3))
    new_user.add(*burst(NOW - timedelta(hours=1)))
    decision = new_user.next("s1", user_role="agent", plan="starter")
    ids = {e.tip.id for e in decision.eligible}
    assert ids == {"adopted"}
    new_user.add(row("feature_used", NOW - timedelta(days=1), "contacts.import"))
    assert new_user.next("s2", user_role="agent").eligible == ()
    veteran = Log(*tips, joined=NOW - timedelta(days=120))
    veteran.add(*burst(NOW - timedelta(hours=1)))
    ids = {e.tip.id for e in veteran.next("s1", user_role="manager", plan="Business").eligible}
    assert ids == {"advanced", "managers", "business", "adopted"}


def test_an_explicit_adoption_event_ends_eligibility():
    log = Log(tip("offline", trigger="mobile.login >= 1 within 7d", feature="mobile.login",
                  adoption="mobile.offline_enabled"))
    log.add(row("feature_used", NOW - timedelta(hours=1), "mobile.login"))
    assert log.next("s1").tip is not None  # the trigger is the feature itself: not adopted
    log.add(row("feature_used", NOW + timedelta(hours=1), "mobile.offline_enabled"))
    assert log.next("s2", NOW + timedelta(days=3)).eligible == ()


def test_holdout_users_never_see_tips_but_their_eligibility_is_recorded():
    users = [f"user-{i}" for i in range(400)]
    held = [u for u in users if holdout_bucket("acme", u) < 10]
    assert 20 <= len(held) <= 60  # about 10 %
    log = Log(tip("bulk-import"))
    log.add(*burst(NOW - timedelta(hours=1)))
    rules = DeliveryRules(spacing_days=2, holdout_percent=10)
    decision = log.next("s1", rules=rules, user=held[0])
    assert decision.tip is None and decision.reason.startswith("holdout") and decision.holdout
    assert [e.tip.id for e in decision.eligible] == ["bulk-import"]
    shown = log.next("s1", rules=rules, user=next(u for u in users if u not in held))
    assert shown.tip is not None and not shown.holdout


def test_the_bucket_is_stable_per_tenant_and_user_and_spread_evenly():
    assert holdout_bucket("acme", "u-1") == holdout_bucket("acme", "u-1")
    counts = Counter(holdout_bucket("acme", f"u-{i}") // 10 for i in range(20_000))
    assert set(counts) == set(range(10))
    assert all(1_700 < n < 2_300 for n in counts.values()), counts
    moved = sum(holdout_bucket("acme", f"u-{i}") != holdout_bucket("globex", f"u-{i}")
                for i in range(1000))
    assert moved > 900  # another tenant's experiment is drawn independently


@pytest.mark.parametrize("locale, expected", [("es", "importar"), ("en", "import")])
def test_a_tip_in_the_users_language_comes_first(locale, expected):
    log = Log(tip("import"), tip("importar", locale="es"))
    log.add(*burst(NOW - timedelta(hours=1)))
    assert log.next("s1", locale=locale).tip.id == expected
