"""Learning and health read the same events with the same rules (``assistant.learning.rules``):
on every demo account, ``/learning`` and ``/health`` agree on who is learning and on how
far along the account's paths are."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assistant.cli.demo import seed_demo
from assistant.events.model import EventRow
from assistant.knowledge.base import Knowledge
from assistant.learning.rules import (
    LearningPath,
    Material,
    PathLibrary,
    Step,
    StepEvidence,
    step_completion,
)
from assistant.services import Services

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(sample_knowledge: Knowledge, tmp_path_factory: pytest.TempPathFactory) -> Services:
    data_dir: Path = tmp_path_factory.mktemp("demo-data")
    settings = sample_knowledge.settings.model_copy(
        update={"data_dir": data_dir, "database_url": None}
    )
    services = Services(settings, knowledge=sample_knowledge, clock=lambda: NOW)
    report = seed_demo(replace(services.chat, learning=None), "sample", NOW)
    assert report.accounts == 24 and report.events > 1000
    return services


def test_learning_and_health_agree_on_every_demo_account(demo: Services) -> None:
    accounts = demo.event_log.accounts("default")
    assert len(accounts) == 24
    month_ago_ms = int((NOW - timedelta(days=30)).timestamp() * 1000)
    disagreements = []
    steps_done_total = 0
    for account_id in accounts:
        learning = demo.learning.account("default", account_id, NOW)
        aggregate = learning.as_dict()["aggregate"]
        education = demo.health.score("default", account_id, NOW).components["education"]
        learners = sum(
            1 for u in learning.users
            if u.last_learning_ms is not None and u.last_learning_ms >= month_ago_ms
        )
        seen = (aggregate["steps_done"], learners)
        scored = (education.details["path_steps_done"], education.details["learning_users_30d"])
        steps_done_total += aggregate["steps_done"]
        if seen != scored:
            disagreements.append(f"{account_id}: learning {seen}, health {scored}")
    assert not disagreements, "\n".join(disagreements)
    assert steps_done_total > 0  # the comparison is about something


# --- the step rule itself, on hand-made evidence ----------------------------------------------

ARTICLE = "articles/how-to/bulk-edit.md"
LIBRARY = PathLibrary.build(
    [LearningPath("p", "Path", "end_user", (
        Step(ARTICLE, "Bulk edit", "week1", "viewed"),
        Step("tips/slack.md", "Slack", "week1", "feature_used: integrations.slack"),
    ))],
    [Material("bulk-edit", "Bulk edit", None, "article", "beginner", "tasks.bulk_edit")],
    sources={ARTICLE: "bulk-edit"},
)
VIEWED, EVENT = LIBRARY.paths["p"].steps


def evidence(*events: tuple[str, str, int]) -> StepEvidence:
    found = StepEvidence()
    for kind, subject, ts in events:
        found.add(kind, subject, ts)
    return found


def test_a_viewed_step_completes_by_reading_its_material_in_any_way_or_using_its_feature():
    assert step_completion(VIEWED, evidence(), LIBRARY) is None
    for kind in ("article_viewed", "citation_clicked", "tip_clicked"):
        # by the document id or by the file the path names
        assert step_completion(VIEWED, evidence((kind, "bulk-edit", 5)), LIBRARY) == (5, "viewed")
        assert step_completion(VIEWED, evidence((kind, ARTICLE, 6)), LIBRARY) == (6, "viewed")
    used = evidence(("feature_used", "tasks.bulk_edit", 3), ("article_viewed", "bulk-edit", 9))
    assert step_completion(VIEWED, used, LIBRARY) == (3, "feature_used")  # the earliest counts
    assert step_completion(VIEWED, evidence(("question_asked", "bulk-edit", 1)), LIBRARY) is None


def test_an_event_step_needs_its_event_and_any_step_can_be_marked_done():
    assert step_completion(EVENT, evidence(("article_viewed", "tips/slack.md", 1)), LIBRARY) is None
    slack = evidence(("feature_used", "integrations.slack", 7))
    assert step_completion(EVENT, slack, LIBRARY) == (7, "feature_used")
    marked = evidence(("path_step_completed", "tips/slack.md", 2))
    assert step_completion(EVENT, marked, LIBRARY) == (2, "marked")


def test_evidence_keeps_the_first_time_whatever_the_order_rows_arrive_in():
    rows = [("article_viewed", "bulk-edit", 9), ("article_viewed", "bulk-edit", 4)]
    assert evidence(*rows).viewed == evidence(*reversed(rows)).viewed == {"bulk-edit": 4}


def test_event_rows_feed_the_same_evidence_in_learning_and_health() -> None:
    from assistant.health.scoring import HealthAccumulator
    from assistant.learning.rules import activities

    ms = int(NOW.timestamp() * 1000)
    rows = [
        EventRow("acme", "u1", "tip_clicked", "bulk-edit", ms - 2000, "{}"),
        EventRow("acme", "u1", "feature_used", "integrations.slack", ms - 1000, "{}"),
    ]
    learned = activities(rows)["u1"].evidence
    scored = HealthAccumulator(NOW).add_all(reversed(rows)).accounts["acme"].evidence["u1"]
    assert learned == scored
