"""Account health: pure scoring with a fixed clock (every band, segment, maturity and signal
boundary), weights, snapshots on real SQLite, the CLI, and the HTTP API over the real app."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from assistant.access.registry import AccessRegistry
from assistant.access.tenant_config import PlaysConfig
from assistant.app.deps import get_now
from assistant.app.factory import create_app
from assistant.cli.main import app as cli_app
from assistant.events.log import EventLog
from assistant.events.model import EventRow, validate_event
from assistant.health.scoring import (
    HealthAccumulator,
    KnowledgeFacts,
    Resource,
    band_of,
    maturity_of,
    round_score,
    score_account,
)
from assistant.health.service import HealthService, facts_from_documents
from assistant.health.store import HealthSnapshots
from assistant.learning.rules import LearningPath, Material, PathLibrary, Step
from assistant.settings import Settings, validate_weights
from assistant.storage.database import open_database

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
BULK = "articles/how-to/bulk-edit.md"
SLACK = "articles/integrations/slack.md"
BASICS = "articles/getting-started/tasks-basics.md"
SCHEDULE_TIP = "tips/schedule-your-status-report.md"
RESOURCES = {
        BULK: Resource(BULK, "Edit many tasks at once with bulk edit", "article",
                       ("tasks.bulk_edit",), ("bulk-edit",)),
        SLACK: Resource(SLACK, "Connect Tasklane to Slack", "article", ("integrations.slack",),
                        ("slack",)),
        BASICS: Resource(BASICS, "Tasks basics", "article", ("tasks.create",)),
        SCHEDULE_TIP: Resource(SCHEDULE_TIP, "Schedule your status report", "tip",
                               ("reports.schedule",), ("reports",)),
}
END_USER_PATH = LearningPath("end-user", "Getting productive", "end_user", (
    Step(BASICS, "First tasks", "week1", "feature_used: tasks.create"),
    Step(SLACK, "Connect Slack", "month1", "feature_used: integrations.slack"),
    Step(BULK, "Bulk edit", "month3", "viewed"),
))


def knowledge_facts(paths: list[LearningPath]) -> KnowledgeFacts:
    materials = [Material(r.id, r.title, None, r.kind, None, r.features[0])
                 for r in RESOURCES.values()]
    return KnowledgeFacts(RESOURCES, PathLibrary.build(paths, materials))


FACTS = knowledge_facts([END_USER_PATH])


def ev(kind: str, days_ago: float, user: str | None = "u1", subject: str | None = None,
       account: str = "acme", text: str | None = None, **props) -> EventRow:
    """An event row as the log returns it; ``text`` is a ticket's subject line."""
    if text is not None:
        props["subject"] = text
    ts = int((NOW - timedelta(days=days_ago)).timestamp() * 1000)
    return EventRow(account, user, kind, subject, ts, json.dumps(props))


def created(days_ago: int, **props) -> EventRow:
    day = (NOW - timedelta(days=days_ago)).date().isoformat()
    return ev("account_updated", days_ago, None, created_at=day, **props)


def health(rows, weights=None, facts=FACTS, now=NOW, plays=None):
    acc = HealthAccumulator(now).add_all(rows)
    return score_account(acc.activity("acme"), facts, now, weights, plays)


def signal(h, code):
    return next((s for s in h.signals if s.code == code), None)


def active_account(days: int = 120) -> list[EventRow]:
    """An established account: created long ago, a login yesterday, the basics in use."""
    return [created(days), ev("login", 1), ev("feature_used", 1, subject="tasks.create")]


# --- score, band, rounding -------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "score", "band"), [
    (100, 100, "green"), (80, 80, "green"), (79.5, 80, "green"), (79.49, 79, "yellow"),
    (60, 60, "yellow"), (59.5, 60, "yellow"), (59.49, 59, "red"), (0, 0, "red"),
])
def test_band_boundaries_after_rounding_half_up(raw, score, band):
    assert round_score(raw) == score and band_of(round_score(raw)) == band


@pytest.mark.parametrize(("tickets", "nps", "score", "band"), [
    (2, (7, 8), 80, "green"),    # (84 + 75) / 2 = 79.5
    (2, (7, 7), 77, "yellow"),   # (84 + 70) / 2
    (2, (3, 4), 60, "yellow"),   # (84 + 35) / 2 = 59.5
    (2, (3, 3), 57, "red"),
])
def test_score_rounds_the_weighted_mean_and_bands_it(tickets, nps, score, band):
    rows = active_account() + [ev("support_ticket", 3, subject=f"t{i}") for i in range(tickets)]
    rows += [ev("nps_response", 5, user=f"n{i}", score=s) for i, s in enumerate(nps)]
    h = health(rows, weights={"support": 1, "sentiment": 1})
    assert (h.score, h.band) == (score, band)


def test_a_component_without_data_is_left_out_and_the_weights_renormalised():
    h = health(active_account(), weights={"support": 1, "sentiment": 3})
    assert h.components["sentiment"].score is None
    assert h.score == 100  # only support counts: no tickets


def test_components_follow_their_formulas():
    rows = [
        *active_account(),
        ev("login", 2, user="u2"), ev("login", 40, user="u3"),     # u3 seen but not in 14 d
        ev("question_asked", 2, question="how to export"),
        ev("answer_given", 2, answered=True, confidence=0.8),
        ev("answer_given", 3, answered=False, confidence=0.1),
        ev("tip_shown", 4, subject=SCHEDULE_TIP), ev("tip_shown", 4, user="u2",
                                                     subject=SCHEDULE_TIP),
        ev("tip_clicked", 4, subject=SCHEDULE_TIP),
        ev("support_ticket", 5, subject="t1"),
        ev("nps_response", 6, score=9), ev("answer_feedback", 6, subject="m1", helpful=False),
    ]
    c = health(rows).components
    education = c["education"].details["parts"]
    assert education["learning_users"] == 100.0       # 1 of 2 active users learning = target
    assert education["questions_answered"] == 50.0
    assert education["tip_engagement"] == 100.0       # 1 of 2 shown = 50 % >= 40 %
    assert education["path_progress"] == 33.3         # 1 (tasks.create used) of 3 steps due
    assert c["usage"].details["parts"] == {"login_coverage": 100.0, "feature_depth": 25.0}
    assert c["support"].score == 92
    assert c["sentiment"].score == 45                 # (90 + 0) / 2


def test_the_result_does_not_depend_on_event_order_and_ignores_the_future():
    rows = active_account() + [ev("article_viewed", d, subject=BULK) for d in (1, 2, 3)]
    shuffled = rows[:]
    random.Random(7).shuffle(shuffled)
    later = [ev("support_ticket", -1, subject=f"t{i}") for i in range(9)]  # tomorrow
    assert health(shuffled).as_dict() == health(rows).as_dict() == health(rows + later).as_dict()


# --- weights -----------------------------------------------------------------------------------


def test_weights_change_the_score():
    rows = active_account() + [ev("support_ticket", 1, subject=f"t{i}") for i in range(5)]
    assert health(rows, weights={"support": 1}).score == 60
    assert health(rows, weights={"usage": 1}).score != 60
    assert health(rows, weights={"support": 1}).components["usage"].weight == 0


@pytest.mark.parametrize(("weights", "fragment"), [
    ({"educaton": 1}, "unknown health component(s) educaton"),
    ({"education": -1, "usage": 2}, "non-negative"),
    ({"education": 0, "usage": 0}, "more than 0"),
    ({}, "more than 0"),
    ({"usage": True}, "non-negative number"),
])
def test_bad_weights_are_rejected(weights, fragment):
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        validate_weights(weights)


def test_weights_come_from_the_environment_as_json(monkeypatch):
    monkeypatch.setenv("LEARNLOOP_HEALTH_WEIGHTS", '{"education": 2, "support": 1}')
    assert Settings().health_weights == pytest.approx(
        {"education": 2 / 3, "usage": 0, "support": 1 / 3, "sentiment": 0})
    monkeypatch.setenv("LEARNLOOP_HEALTH_WEIGHTS", '{"happiness": 1}')
    with pytest.raises(ValueError, match="unknown health component"):
        Settings()


# --- maturity and segment ------------------------------------------------------------------------


@pytest.mark.parametrize(("days", "maturity"), [
    (0, "new"), (29, "new"), (30, "growing"), (89, "growing"), (90, "mature"),
])
def test_maturity_boundaries(days, maturity):
    assert maturity_of(days) == maturity
    assert health([created(days), ev("login", 0)]).maturity == maturity


def test_maturity_falls_back_to_the_first_event():
    assert health([ev("login", 45), ev("login", 1)]).maturity == "growing"


def test_dormant_after_30_days_without_any_user_event():
    assert health([created(200), ev("login", 30)]).segment == "at_risk"   # exactly 30 d: active
    assert health([created(200), ev("login", 30.01)]).segment == "dormant"


def test_at_risk_without_a_login_in_14_days():
    base = [created(200), ev("feature_used", 1, subject="tasks.create")]
    assert health([*base, ev("login", 14)]).segment == "casual"
    assert health([*base, ev("login", 14.01)]).segment == "at_risk"


@pytest.mark.parametrize(("previous", "recent", "segment"), [
    (10, 4, "at_risk"), (10, 5, "casual"), (9, 0, "casual"),
])
def test_at_risk_when_active_user_days_halve(previous, recent, segment):
    rows = [created(200)] + [ev("login", 31 + d) for d in range(previous)]
    # at least one login in the last 14 days, so only the decline rule decides
    rows += [ev("login", 0.5 + d) for d in range(max(recent, 1))]
    assert health(rows).segment == segment


@pytest.mark.parametrize(("tickets", "segment"), [(5, "casual"), (6, "at_risk")])
def test_at_risk_with_more_than_5_tickets(tickets, segment):
    rows = active_account() + [ev("support_ticket", 2, subject=f"t{i}") for i in range(tickets)]
    assert health(rows).segment == segment


@pytest.mark.parametrize(("days", "features", "segment"), [
    (10, 5, "power"), (9, 5, "casual"), (10, 4, "casual"),
])
def test_power_needs_active_days_and_breadth(days, features, segment):
    rows = [created(200)] + [ev("login", d + 0.5) for d in range(days)]
    rows += [ev("feature_used", 1, subject=f"f{i}") for i in range(features)]
    assert health(rows).segment == segment


# --- signals -------------------------------------------------------------------------------------


def test_no_login_14d_boundary_and_evidence():
    base = [created(200), ev("feature_used", 1, subject="tasks.create")]
    assert signal(health([*base, ev("login", 14, user="ana")]), "no_login_14d") is None
    fired = signal(health([*base, ev("login", 14.01, user="ana")]), "no_login_14d")
    assert fired.severity == "high"
    assert "last login 2026-05-18 by ana (14 days ago)" in fired.evidence
    never = signal(health(base), "no_login_14d")
    assert never.evidence[0] == "no login ever recorded for this account"


@pytest.mark.parametrize(("tickets", "severity"), [(5, None), (6, "medium"), (10, "high")])
def test_tickets_over_5_in_30d(tickets, severity):
    rows = active_account() + [
        ev("support_ticket", 29, subject=f"T-{i}", ticket_id=f"T-{i}")
        for i in range(tickets)
    ] + [ev("support_ticket", 31, subject="T-old")]
    fired = signal(health(rows), "tickets_over_5_in_30d")
    assert (fired.severity if fired else None) == severity
    if fired:
        assert fired.evidence[0] == f"{tickets} tickets between 2026-05-02 and 2026-06-01"
        assert "T-old" not in " ".join(fired.evidence)


def test_ticket_subjects_are_evidence():
    rows = active_account() + [
        ev("support_ticket", 1 + i, subject=f"T-{i}", text=f"Export is broken #{i}")
        for i in range(6)
    ]
    fired = signal(health(rows), "tickets_over_5_in_30d")
    assert "2026-05-31 T-0: Export is broken #0" in fired.evidence


@pytest.mark.parametrize(("days", "fires"), [(-1, False), (0, True), (90, True), (91, False)])
def test_renewal_within_90d(days, fires):
    renewal = (NOW.date() + timedelta(days=days)).isoformat()
    rows = [*active_account()[1:], created(200, renewal_date=renewal, plan="pro", seats=20)]
    fired = signal(health(rows), "renewal_within_90d")
    assert (fired is not None) == fires
    if fired:
        assert fired.evidence[:3] == [f"renewal on {renewal} ({days} days)", "plan: pro",
                                      "seats: 20"]
        assert fired.severity == {"red": "high", "yellow": "medium", "green": "low"}[
            health(rows).band]


@pytest.mark.parametrize(("previous", "recent", "severity"), [
    (10, 5, "medium"), (10, 6, None), (9, 0, None), (10, 2, "high"),
])
def test_education_engagement_dropped(previous, recent, severity):
    rows = active_account()
    rows += [ev("article_viewed", 35, user=f"p{i}", subject=BULK) for i in range(previous)]
    rows += [ev("question_asked", 3, user=f"r{i % 2}", question="?") for i in range(recent)]
    fired = signal(health(rows), "education_engagement_dropped")
    assert (fired.severity if fired else None) == severity
    if fired:
        assert fired.evidence[0].startswith(f"learning events: {previous} (2026-04-02 to "
                                            f"2026-05-02) then {recent} (2026-05-02 to")
        assert "stopped learning: p0, p1, p2, p3, p4 and 5 more" in fired.evidence


def test_reading_unused_feature():
    base = active_account()
    one = [*base, ev("article_viewed", 2, subject=BULK)]
    assert signal(health(one), "reading_unused_feature") is None           # one read: noise
    two = [*base, ev("article_viewed", 2, user="ana", subject=BULK),
           ev("citation_clicked", 3, user="ben", subject=BULK)]
    fired = signal(health(two), "reading_unused_feature")
    assert fired.severity == "low" and "tasks.bulk_edit" in fired.message
    assert fired.evidence == [
        "tasks.bulk_edit: 2 reads by ana, ben (last 2026-05-30): "
        "'Edit many tasks at once with bulk edit' ×2; feature never used"
    ]
    used = [*two, ev("feature_used", 80, subject="tasks.bulk_edit")]
    assert signal(health(used), "reading_unused_feature") is None
    old = [*base, ev("article_viewed", 31, subject=BULK), ev("article_viewed", 32, subject=BULK)]
    assert signal(health(old), "reading_unused_feature") is None
    three = [*two, ev("article_viewed", 4, user="cy", subject=BULK)]
    assert signal(health(three), "reading_unused_feature").severity == "medium"


def test_untouched_capability_from_paths_due_by_tenure():
    # Day 29: only week1 is due, and tasks.create is in use.
    young = [created(29), ev("login", 1), ev("feature_used", 1, subject="tasks.create")]
    assert signal(health(young), "untouched_capability") is None
    # Day 30: month1 is due; Slack was never used nor read about.
    due = [created(30), *young[1:]]
    fired = signal(health(due), "untouched_capability")
    assert fired.severity == "low" and "integrations.slack" in fired.message
    assert fired.evidence[0].startswith(
        "integrations.slack: never used, none of its 1 resources read "
        "('Connect Tasklane to Slack'); 'Getting productive' month1 step 'Connect Slack'")
    assert signal(health([*due, ev("article_viewed", 40, subject=SLACK)]),
                  "untouched_capability") is None
    assert signal(health([*due, ev("feature_used", 40, subject="integrations.slack")]),
                  "untouched_capability") is None


def test_paths_follow_the_users_roles_as_learning_does():
    admin_path = LearningPath("admin", "Admin onboarding", "admin", (
        Step(SLACK, "Connect Slack", "week1", "feature_used: integrations.slack"),))
    facts = knowledge_facts([END_USER_PATH, admin_path])
    owner = [created(200), ev("user_updated", 300, role="Owner"), ev("login", 1)]
    assert health(owner, facts=facts).components["education"].details["path_steps_due"] == 1
    both = [*owner, ev("login", 1, user="u2")]  # no role: the end-user path too
    assert health(both, facts=facts).components["education"].details["path_steps_due"] == 4


def test_untouched_capability_they_ask_about_is_medium():
    rows = [created(5), ev("login", 1), ev("feature_used", 1, subject="tasks.create"),
            ev("question_asked", 2, user="ana", question="Why does Slack not post my tasks?"),
            ev("support_ticket", 3, subject="T-1", text="Bulk edit is confusing")]
    fired = signal(health(rows), "untouched_capability")
    assert fired.severity == "medium"
    assert fired.message.startswith("They ask about integrations.slack, tasks.bulk_edit")
    assert any('question on 2026-05-30 by ana: "why does slack not post my tasks?"' in e
               for e in fired.evidence)


def test_untouched_capability_includes_features_of_tips_shown():
    rows = [created(5), ev("login", 1), ev("feature_used", 1, subject="tasks.create"),
            ev("tip_shown", 2, subject=SCHEDULE_TIP)]
    fired = signal(health(rows), "untouched_capability")
    assert "reports.schedule" in fired.evidence[0]
    assert "tip 'Schedule your status report' was shown" in fired.evidence[0]


@pytest.mark.parametrize(("answers", "severity"), [
    ([("ana", 10, 9), ("ben", 2, 6)], "medium"),     # ben answered last: 6 is a detractor
    ([("ana", 10, 3), ("ben", 2, 7)], None),          # the latest is 7: passive, no signal
    ([("ana", 2, 4), ("ben", 2, 9)], "high"),         # same moment: the lower score counts
    ([("ana", 181, 1), ("ben", 5, 8)], None),         # older than 180 days is not read
])
def test_nps_detractor_is_the_latest_answer_below_7(answers, severity):
    rows = active_account() + [ev("nps_response", days, user=user, score=score)
                               for user, days, score in answers]
    fired = signal(health(rows), "nps_detractor")
    assert (fired.severity if fired else None) == severity


def test_nps_detractor_evidence_names_score_who_and_when():
    rows = [*active_account(), ev("nps_response", 9, user="ana", score=5),
            ev("nps_response", 2, user="ben", score=3),
            ev("nps_response", 4, user="cleo", score=10)]
    fired = signal(health(rows), "nps_detractor")
    assert fired.message == "The latest NPS answer is 3 (a detractor), from ben."
    assert fired.evidence == [
        "latest NPS answer: 3 by ben on 2026-05-30 (2 days ago)",
        "other detractors in 180 days: ana (5)",
        "3 users answered in 180 days, average 6.0",
    ]


@pytest.mark.parametrize(("features", "severity"), [
    ((), "medium"),                                            # 0 of 4 < 15 %
    (("tasks.create",), "low"),                                # 1 of 4 = 25 % < 30 %
    (("tasks.create", "integrations.slack"), None),           # 2 of 4 = 50 %
    (("tasks.create", "export.csv", "api.token_create"), "low"),  # untracked ones don't count
])
def test_low_feature_adoption_counts_tracked_features_used_in_30_days(features, severity):
    rows = [created(200), ev("login", 1), ev("feature_used", 31, subject="integrations.slack")]
    rows += [ev("feature_used", 2, subject=f) for f in features]
    fired = signal(health(rows), "low_feature_adoption")
    assert (fired.severity if fired else None) == severity


def test_low_feature_adoption_evidence_shows_used_and_unused_features():
    rows = [created(200), ev("login", 1), ev("feature_used", 2, subject="tasks.create"),
            ev("feature_used", 3, subject="export.csv")]
    fired = signal(health(rows), "low_feature_adoption")
    # FACTS teaches four features: the three articles', the tip's (path steps add none).
    assert fired.evidence == [
        "1 of 4 tracked features used in the last 30 days (25%, below 30%)",
        "used: tasks.create",
        "not used: integrations.slack, reports.schedule, tasks.bulk_edit",
        "also used, not taught by the knowledge: export.csv",
    ]
    # A tenant whose knowledge names no feature tracks none: no signal.
    assert signal(health(rows, facts=KnowledgeFacts()), "low_feature_adoption") is None


def test_plays_are_part_of_an_accounts_health():
    rows = [created(10), ev("login", 1, user="ana"),
            ev("user_updated", 9, user="ana", role="end_user")]
    h = health(rows)
    # Day 10 on the end-user path: 'First tasks' (week1) is overdue and tasks.create unused.
    assert [p.play for p in h.plays] == ["activation"]
    assert "key features not adopted: tasks.create" in h.plays[0].evidence
    assert h.as_dict()["plays"][0]["play"] == "activation"
    quiet = health(rows, plays=PlaysConfig(disabled=["activation"]))
    assert quiet.plays == []


def test_signals_come_most_severe_first():
    h = health([created(200, renewal_date="2026-07-01"), ev("login", 20)])
    severities = [s.severity for s in h.signals]
    assert severities == sorted(severities, key=["high", "medium", "low"].index)


def test_facts_from_documents_of_the_sample_knowledge():
    from conftest import SAMPLE_KB

    from ingest.loaders import discover, load_file

    files, _ = discover(SAMPLE_KB)
    facts = facts_from_documents(d for f in files for d in load_file(f, SAMPLE_KB, None).documents)
    assert {p.audience for p in facts.paths} == {"admin", "end_user", "manager"}
    assert facts.resources["tips/bulk-edit-due-dates.md"].features == ("tasks.bulk_edit",)
    assert "tasks.bulk_edit" in facts.resources["workflows/weekly-planning.md"].features
    assert facts.features_mentioned("can i add a tag and a webhook?") == {
        "tags.apply", "webhooks.create"}


# --- snapshots, service and CLI on real SQLite -------------------------------------------------


def event(kind, days_ago, account="acme", user="u1", **props):
    ts = (NOW - timedelta(days=days_ago)).isoformat()
    raw = {"id": f"{account}-{kind}-{days_ago}-{user}-{random.random()}", "type": kind,
           "account_id": account, "user_id": user, "ts": ts, "properties": props}
    return validate_event(raw, now=NOW)


def seed(log: EventLog, tenant: str = "default") -> None:
    log.append(tenant, [
        event("account_updated", 200, "acme", None, name="Acme", created_at="2025-11-01",
              renewal_date="2026-07-15"),
        event("login", 1, "acme"), event("feature_used", 1, "acme", feature="tasks.create"),
        *[event("support_ticket", 2, "acme", ticket_id=f"T{i}") for i in range(8)],
        event("account_updated", 200, "globo", None, name="Globo", renewal_date="2026-06-20"),
        *[event("support_ticket", 2, "globo", ticket_id=f"G{i}") for i in range(8)],
        event("login", 1, "globo"), event("feature_used", 1, "globo", feature="tasks.create"),
        event("login", 1, "zen"), event("question_asked", 1, "zen", question="tags?"),
        *[event("feature_used", 1, "zen", feature=f) for f in (
            "tasks.create", "tasks.bulk_edit", "integrations.slack", "reports.schedule")],
        event("nps_response", 3, "zen", score=10),
    ])


@pytest.fixture(params=["sqlite", "postgresql"])
def service(request, tmp_path):
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    database = open_database(url, tmp_path)
    log = EventLog(database)
    seed(log)
    yield HealthService(log, HealthSnapshots(database), lambda tenant: FACTS)
    database.close()


def test_snapshots_upsert_one_row_per_account_and_day(service):
    store = service.snapshots
    first = service.score("default", "acme", NOW)
    store.upsert("default", NOW.date(), [first])
    store.upsert("default", NOW.date(), [first])
    store.upsert("default", NOW.date() - timedelta(1), [first])
    assert store.trend("default", "acme", date(2026, 1, 1)) == [
        ("2026-05-31", first.score), ("2026-06-01", first.score)]
    assert [s.account_id for s in store.day("default", NOW.date())] == ["acme"]
    assert store.trend("other", "acme", date(2026, 1, 1)) == []


def test_snapshots_stored_before_plays_existed_read_as_naming_none(tmp_path, database_url):
    from assistant.health.store import _MIGRATIONS

    database = open_database(database_url, tmp_path)
    database.migrate("health", _MIGRATIONS[:1])  # the schema of the release before plays
    with database.transaction() as tx:
        tx.execute("INSERT INTO health_snapshots (tenant, account_id, day, name, score, band, "
                   "segment, maturity, renewal_date, components, signals, computed_ms) VALUES "
                   "('default', 'acme', '2026-06-01', 'Acme', 50, 'red', 'casual', 'mature', "
                   "NULL, '{}', '[]', 0)")
        tx.execute("INSERT INTO health_recomputes VALUES ('default', '2026-06-01', 0, 0)")
    store = HealthSnapshots(database)
    assert [(s.account_id, s.plays) for s in store.day("default", NOW.date())] == [("acme", [])]
    # An old recompute record has no plays settings: the next list rescores the day.
    assert store.last_recompute("default") == ("2026-06-01", 0, "")
    database.close()


def test_accounts_are_listed_riskiest_first_with_renewal_then_id_breaking_ties(service):
    rows = service.accounts("default", NOW)
    assert [(r.account_id, r.score) for r in rows][:2] == [("globo", rows[0].score),
                                                          ("acme", rows[0].score)]
    assert rows[-1].account_id == "zen" and rows[-1].score > rows[0].score
    assert [r.account_id for r in service.accounts("default", NOW, "green")] == ["zen"]


def test_the_list_rescores_only_accounts_with_new_events(service):
    before = {r.account_id: r.score for r in service.accounts("default", NOW)}
    service.events.append("default", [event("support_ticket", 1, "zen", ticket_id=f"Z{i}")
                                      for i in range(6)])
    after = {r.account_id: r.score for r in service.accounts("default", NOW)}
    assert after["zen"] < before["zen"] and after["acme"] == before["acme"]


def test_backfill_writes_past_days_that_see_only_earlier_events(service):
    service.backfill("default", NOW, days=5)
    trend = service.snapshots.trend("default", "acme", date(2026, 1, 1))
    assert [d for d, _ in trend] == [f"2026-05-{d}" for d in (28, 29, 30, 31)] + ["2026-06-01"]

    def tickets(day: date) -> int:
        acme = next(s for s in service.snapshots.day("default", day) if s.account_id == "acme")
        return int(acme.components["support"]["details"]["tickets_30d"])

    assert (tickets(date(2026, 5, 29)), tickets(date(2026, 5, 30))) == (0, 8)


def test_cli_recompute_scores_the_data_dir(isolated_env, cli):
    seed(EventLog(open_database(None, isolated_env)))
    result = cli.invoke(cli_app, ["health", "recompute", "--days", "2"])
    assert result.exit_code == 0, result.output
    assert "3 accounts scored" in result.output and "(2 day(s) of snapshots)" in result.output
    as_json = cli.invoke(cli_app, ["health", "recompute", "--json"])
    assert {h["account_id"] for h in json.loads(as_json.output)} == {"acme", "globo", "zen"}


# --- over HTTP -----------------------------------------------------------------------------------


@pytest.fixture
def api(sample_knowledge, tmp_path):
    settings = sample_knowledge.settings.model_copy(update={"data_dir": tmp_path / "api-data"})
    registry = AccessRegistry(open_database(None, settings.data_dir, "access.sqlite"))
    registry.ensure_tenant("default")
    registry.create_tenant("globex")
    keys = {(t, r): registry.create_key(t, r)[1]
            for t in ("default", "globex") for r in ("admin", "agent", "csm", "ingest")}
    app = create_app(settings, sample_knowledge)
    app.dependency_overrides[get_now] = lambda: NOW
    with TestClient(app) as client:
        seed(client.app.state.services.event_log)
        client.app.state.services.event_log.append("globex", [event("login", 1, "initech")])
        yield client, keys, registry


def get(client, path, key):
    return client.get(path, headers={"authorization": f"Bearer {key}"})


def test_health_endpoint_shape(api):
    client, keys, _ = api
    response = get(client, "/v1/accounts/acme/health", keys["default", "csm"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert {"account_id", "score", "band", "components", "signals", "segment", "maturity",
            "trend"} <= set(body)
    assert body["account_id"] == "acme" and body["band"] in ("red", "yellow", "green")
    assert set(body["components"]) == {"education", "usage", "support", "sentiment"}
    assert all({"score", "weight"} <= set(c) for c in body["components"].values())
    codes = {s["code"] for s in body["signals"]}
    assert {"tickets_over_5_in_30d", "renewal_within_90d"} <= codes
    assert all(set(s) == {"code", "severity", "message", "evidence"} for s in body["signals"])
    assert body["trend"] == [{"date": "2026-06-01", "score": body["score"]}]


def test_accounts_endpoint_sorted_by_risk_and_filtered_by_band(api):
    client, keys, _ = api
    body = get(client, "/v1/accounts", keys["default", "agent"]).json()
    accounts = body["accounts"]
    assert [a["account_id"] for a in accounts] == ["globo", "acme", "zen"]
    assert {"account_id", "name", "score", "band", "segment", "maturity"} <= set(accounts[0])
    assert accounts[0]["name"] == "Globo"
    green = get(client, "/v1/accounts?band=green", keys["default", "admin"]).json()
    assert [a["account_id"] for a in green["accounts"]] == ["zen"]


def test_bad_band_is_422_with_a_clear_message(api):
    client, keys, _ = api
    response = get(client, "/v1/accounts?band=purple", keys["default", "csm"])
    assert response.status_code == 422
    assert "band" in response.json()["error"]["message"]
    assert "'red', 'yellow' or 'green'" in response.json()["error"]["message"]


def test_unknown_and_other_tenants_accounts_are_404(api):
    client, keys, _ = api
    assert get(client, "/v1/accounts/nobody/health", keys["default", "csm"]).status_code == 404
    other = get(client, "/v1/accounts/acme/health", keys["globex", "csm"])
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"
    listed = get(client, "/v1/accounts", keys["globex", "csm"]).json()["accounts"]
    assert [a["account_id"] for a in listed] == ["initech"]


def test_ingest_keys_and_end_users_are_refused(api):
    client, keys, registry = api
    for path in ("/v1/accounts", "/v1/accounts/acme/health"):
        response = get(client, path, keys["default", "ingest"])
        assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
        token = registry.issue_token("default", "u1", "acme")
        assert get(client, path, token).status_code == 403
    assert client.get("/v1/accounts").status_code == 401


def test_accounts_are_filtered_by_play_within_the_callers_tenant(api):
    client, keys, _ = api
    services = client.app.state.services
    services.event_log.append("default", [event("login", 40, "dusty")])
    services.event_log.append("globex", [event("login", 30, "umbrella")])
    mine = get(client, "/v1/accounts?play=dormant_win_back", keys["default", "csm"]).json()
    assert [(a["account_id"], a["plays"]) for a in mine["accounts"]] == [
        ("dusty", ["dormant_win_back"])]
    theirs = get(client, "/v1/accounts?play=dormant_win_back", keys["globex", "agent"]).json()
    assert [a["account_id"] for a in theirs["accounts"]] == ["umbrella"]
    assert get(client, "/v1/accounts?play=power_user", keys["default", "csm"]).json() == {
        "accounts": []}
    page = get(client, "/v1/accounts/dusty/health", keys["default", "csm"]).json()
    win_back = page["plays"][0]
    assert win_back["play"] == "dormant_win_back" and win_back["steps"]
    assert "last login 40 days ago by u1" in win_back["evidence"]


def test_the_play_filter_follows_the_tenants_play_settings_at_once(api):
    client, keys, _ = api
    configs = client.app.state.services.tenant_configs
    key = keys["default", "csm"]
    assert get(client, "/v1/accounts?play=feature_launch", key).json()["accounts"] == []
    # Slack launched, for accounts already creating tasks: acme and globo; zen uses Slack.
    configs.update("default", plays={"launch_features": {"integrations.slack": ["tasks.create"]}})
    listed = get(client, "/v1/accounts?play=feature_launch", key).json()["accounts"]
    assert [a["account_id"] for a in listed] == ["globo", "acme"]
    configs.update("default", plays={"launch_features": {"integrations.slack": ["tasks.create"]},
                                     "disabled": ["feature_launch"]})
    assert get(client, "/v1/accounts?play=feature_launch", key).json()["accounts"] == []
    page = get(client, "/v1/accounts/acme/health", key).json()
    assert "feature_launch" not in [p["play"] for p in page["plays"]]


def test_an_unknown_play_is_refused_naming_the_plays(api):
    client, keys, _ = api
    response = get(client, "/v1/accounts?play=upsell", keys["default", "csm"])
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert "play" in message
    assert "'activation', 'dormant_win_back', 'feature_launch' or 'power_user'" in message
