"""Tip effectiveness: engagement bands, adoption against the holdout, and the lift's interval."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from assistant.events.model import EventRow
from assistant.insights.tip_effectiveness import (
    engagement_band,
    newcombe_interval,
    tip_effectiveness,
    wilson_interval,
)
from assistant.tips.library import tip_from_metadata

NOW = datetime(2026, 12, 4, tzinfo=UTC)
TIP = tip_from_metadata("tips/schedule.md", "Schedule it", {"trigger": "report.viewed on 3 "
                        "consecutive days"}, feature="reports.schedule", level=None,
                        audience=None, url=None, locale="en")


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def row(user: str, kind: str, at: datetime, **props) -> EventRow:
    subject = props.get("tip_id") or props.get("feature")
    return EventRow("acct", user, kind, subject, ms(at), json.dumps(props))


def test_bands_follow_the_design():
    assert [engagement_band(r) for r in (0.45, 0.40, 0.39, 0.20, 0.19, None)] == [
        "excellent", "excellent", "good", "good", "revise", None]


def test_intervals_match_newcombes_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873, table II, example (a): 56/70 - 48/80.
    low, high = newcombe_interval(56, 70, 48, 80)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)
    low, high = wilson_interval(0, 10)
    assert low == 0 and round(high, 4) == 0.2775  # Wilson's interval stays inside [0, 1]


def synthetic(shown_rate: float, holdout_rate: float, users: int, seed: int) -> list[EventRow]:
    """Users who qualified 30 days ago; 10 % held out; the others shown the tip; each adopts
    the feature within a week with the arm's probability."""
    rng = random.Random(seed)
    rows = []
    for i in range(users):
        user = f"u{i}"
        holdout = i % 10 == 0
        start = NOW - timedelta(days=30, minutes=i)
        rows.append(row(user, "tip_eligible", start, tip_id=TIP.id, holdout=holdout))
        if not holdout:
            rows.append(row(user, "tip_shown", start, tip_id=TIP.id, session_id="s"))
        if rng.random() < (holdout_rate if holdout else shown_rate):
            rows.append(row(user, "feature_used", start + timedelta(days=rng.uniform(0, 7)),
                            feature="reports.schedule"))
    return sorted(rows, key=lambda r: r.ts_ms)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_lift_interval_covers_a_known_lift(seed):
    report = tip_effectiveness([TIP], synthetic(0.35, 0.20, 4000, seed), NOW)
    [tip] = report["tips"]
    assert tip["eligible"] == 4000 and tip["eligible_holdout"] == 400 and tip["shown"] == 3600
    low, high = tip["lift"]["ci95"]
    assert low < 0.15 < high and tip["lift"]["significant"]
    assert high - low < 0.12  # 400 held-out users pin it down to about ±5 points
    shown, holdout = tip["adoption"]["shown"], tip["adoption"]["holdout"]
    assert abs(shown["rate"] - 0.35) < 0.03 and abs(holdout["rate"] - 0.20) < 0.06


def test_the_interval_covers_the_true_lift_about_95_times_in_100():
    covered = 0
    for seed in range(200):
        [tip] = tip_effectiveness([TIP], synthetic(0.35, 0.20, 1000, seed), NOW)["tips"]
        low, high = tip["lift"]["ci95"]
        covered += low <= 0.15 <= high
    assert 0.91 <= covered / 200 <= 0.99, covered


def test_no_lift_is_not_called_significant_and_adoption_outside_the_window_does_not_count():
    report = tip_effectiveness([TIP], synthetic(0.2, 0.2, 2000, 7), NOW)
    assert not report["tips"][0]["lift"]["significant"]
    late = [row("u1", "tip_eligible", NOW - timedelta(days=40), tip_id=TIP.id, holdout=False),
            row("u1", "tip_shown", NOW - timedelta(days=40), tip_id=TIP.id),
            row("u1", "feature_used", NOW - timedelta(days=20), feature="reports.schedule"),
            row("u2", "tip_eligible", NOW - timedelta(days=3), tip_id=TIP.id, holdout=False),
            row("u2", "tip_shown", NOW - timedelta(days=3), tip_id=TIP.id)]
    [tip] = tip_effectiveness([TIP], late, NOW)["tips"]
    assert tip["adoption"]["shown"] == {"users": 1, "adopted": 0, "rate": 0.0, "pending": 1}


def test_engagement_counts_clicks_helpful_feedback_and_adoption_per_user_shown():
    at = NOW - timedelta(days=1)
    rows = [row(f"u{i}", "tip_shown", at, tip_id=TIP.id) for i in range(5)]
    rows += [row("u0", "tip_clicked", at, tip_id=TIP.id),
             row("u0", "tip_clicked", at, tip_id=TIP.id),
             row("u1", "tip_feedback", at, tip_id=TIP.id, feedback="helpful_not_tried"),
             row("u2", "tip_feedback", at, tip_id=TIP.id, feedback="not_relevant"),
             row("u3", "tip_dismissed", at, tip_id=TIP.id, scope="tip")]
    [tip] = tip_effectiveness([TIP], rows, NOW)["tips"]
    assert (tip["shown"], tip["clicked"], tip["dismissed"]) == (5, 1, 1)
    assert tip["engagement_rate"] == 0.4 and tip["engagement_band"] == "excellent"
    assert tip["feedback"] == {"helpful_not_tried": 1, "not_relevant": 1}
