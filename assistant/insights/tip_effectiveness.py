"""Tip effectiveness (``GET /v1/insights/tips``): engagement per tip, and adoption after a tip
against the holdout's adoption after eligibility — what the tip changed, with its interval.

Per tip, over the users who qualified in the period:

engagement  users who clicked, adopted or found it helpful ÷ users shown it; band: ≥ 40 %
            excellent, 20-40 % good, < 20 % revise (DESIGN "Tips").
adoption    shown: users who did the tip's adoption event within N days of first seeing it;
            holdout: holdout users who did it within N days of first qualifying. Only users
            whose N days are over count (the rest are ``pending``).
lift        shown − holdout adoption, with a 95 % Newcombe interval (hybrid Wilson score,
            Newcombe 1998, method 10), which stays inside [-1, 1] and behaves with small
            counts. Also the intent-to-treat comparison: every non-holdout user who
            qualified (shown or not) against the holdout — the unbiased one, since users who
            come back to be shown a tip may be keener than those who qualify.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from assistant.clock import DAY_MS
from assistant.events.log import EventLog
from assistant.events.model import EventRow
from assistant.tips.library import Tip

__all__ = [
    "engagement_band", "newcombe_interval", "tip_effectiveness", "tips_report", "wilson_interval",
]

_Z95 = 1.959963984540054
_TIP_EVENTS = ("tip_eligible", "tip_shown", "tip_clicked", "tip_dismissed", "tip_feedback",
               "tip_adopted")


def engagement_band(rate: float | None) -> str | None:
    if rate is None:
        return None
    return "excellent" if rate >= 0.40 else "good" if rate >= 0.20 else "revise"


def wilson_interval(successes: int, n: int, z: float = _Z95) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_interval(a: int, n1: int, b: int, n2: int) -> tuple[float, float]:
    """95 % interval of a/n1 − b/n2 from the two Wilson intervals."""
    p1, p2 = a / n1, b / n2
    l1, u1 = wilson_interval(a, n1)
    l2, u2 = wilson_interval(b, n2)
    d = p1 - p2
    return (d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


@dataclass
class _TipCounts:
    eligible_at: dict[str, int] = field(default_factory=dict)  # user → first eligible
    holdout: set[str] = field(default_factory=set)
    shown_at: dict[str, int] = field(default_factory=dict)  # user → first shown
    shows: int = 0
    clicked: set[str] = field(default_factory=set)
    dismissed: set[str] = field(default_factory=set)
    engaged: set[str] = field(default_factory=set)
    feedback: dict[str, int] = field(default_factory=dict)


def tip_effectiveness(
    tips: Sequence[Tip],
    rows: Iterable[EventRow],
    now: datetime,
    *,
    days: int = 90,
    adoption_days: int = 14,
) -> dict[str, Any]:
    """The report for ``tips`` from ``rows`` (the tenant's tip events and adoption events
    since the period's start, in time order)."""
    now_ms = int(now.timestamp() * 1000)
    start_ms = now_ms - days * DAY_MS
    window_ms = adoption_days * DAY_MS
    by_id = {tip.id: tip for tip in tips}
    counts = {tip.id: _TipCounts() for tip in tips}
    adoptions: dict[str, list[tuple[int, str, str | None]]] = {}  # user → (ts, type, subject)
    for row in rows:
        if row.user_id is None:
            continue
        if row.type not in _TIP_EVENTS or row.type == "tip_adopted":
            adoptions.setdefault(row.user_id, []).append((row.ts_ms, row.type, row.subject))
        tip_counts = counts.get(row.subject or "") if row.type in _TIP_EVENTS else None
        if tip_counts is None or row.ts_ms < start_ms:
            continue
        _count(tip_counts, row)
    report = [
        _tip_report(by_id[tip_id], c, adoptions, now_ms, window_ms)
        for tip_id, c in counts.items()
        if c.eligible_at or c.shown_at
    ]
    report.sort(key=lambda r: (-r["shown"], -r["eligible"], r["tip_id"]))
    return {
        "period_days": days,
        "adoption_days": adoption_days,
        "as_of": now.isoformat().replace("+00:00", "Z"),
        "tips": report,
    }


def _count(c: _TipCounts, row: EventRow) -> None:
    user, ts = row.user_id or "", row.ts_ms
    if row.type == "tip_eligible":
        c.eligible_at.setdefault(user, ts)
        if row.props().get("holdout") is True:
            c.holdout.add(user)
    elif row.type == "tip_shown":
        c.shown_at.setdefault(user, ts)
        c.shows += 1
    elif row.type == "tip_clicked":
        c.clicked.add(user)
        c.engaged.add(user)
    elif row.type == "tip_dismissed":
        c.dismissed.add(user)
    elif row.type == "tip_adopted":
        c.engaged.add(user)
    elif row.type == "tip_feedback":
        kind = str(row.props().get("feedback"))
        c.feedback[kind] = c.feedback.get(kind, 0) + 1
        if kind.startswith("helpful"):
            c.engaged.add(user)


def _tip_report(
    tip: Tip,
    c: _TipCounts,
    adoptions: dict[str, list[tuple[int, str, str | None]]],
    now_ms: int,
    window_ms: int,
) -> dict[str, Any]:
    shown_users = set(c.shown_at)
    engaged = len(c.engaged & shown_users)
    rate = engaged / len(shown_users) if shown_users else None

    def adopted_after(user: str, since: int) -> bool:
        return any(
            since <= ts <= since + window_ms and tip.adopted_by(kind, subject)
            for ts, kind, subject in adoptions.get(user, ())
        )

    def arm(starts: dict[str, int]) -> dict[str, Any]:
        matured = {u: s for u, s in starts.items() if s + window_ms <= now_ms}
        adopted = sum(adopted_after(u, s) for u, s in matured.items())
        n = len(matured)
        return {"users": n, "adopted": adopted, "rate": round(adopted / n, 4) if n else None,
                "pending": len(starts) - n}

    holdout = arm({u: s for u, s in c.eligible_at.items() if u in c.holdout})
    shown = arm({u: s for u, s in c.shown_at.items() if u not in c.holdout})
    treated = arm({u: s for u, s in c.eligible_at.items() if u not in c.holdout})
    return {
        "tip_id": tip.id,
        "title": tip.title,
        "feature": tip.feature,
        "category": tip.category,
        "eligible": len(c.eligible_at),
        "eligible_holdout": len(c.holdout & set(c.eligible_at)),
        "shown": len(shown_users),
        "shows": c.shows,
        "clicked": len(c.clicked),
        "dismissed": len(c.dismissed),
        "feedback": dict(sorted(c.feedback.items())),
        "engagement_rate": None if rate is None else round(rate, 4),
        "engagement_band": engagement_band(rate),
        "adoption": {"shown": shown, "holdout": holdout, "eligible_not_holdout": treated},
        "lift": _lift(shown, holdout),
        "lift_intent_to_treat": _lift(treated, holdout),
    }


def _lift(arm: dict[str, Any], control: dict[str, Any]) -> dict[str, Any] | None:
    if not arm["users"] or not control["users"]:
        return None
    low, high = newcombe_interval(arm["adopted"], arm["users"], control["adopted"],
                                  control["users"])
    difference = arm["adopted"] / arm["users"] - control["adopted"] / control["users"]
    return {
        "difference": round(difference, 4),
        "ci95": [round(low, 4), round(high, 4)],
        "significant": low > 0 or high < 0,
    }


def tips_report(
    events: EventLog, tips: Sequence[Tip], tenant: str, now: datetime, *, days: int = 90,
    adoption_days: int = 14,
) -> dict[str, Any]:
    """``tip_effectiveness`` over a tenant's log: its tip events and the adoption events of
    ``tips`` since the period began."""
    kinds = {*_TIP_EVENTS, *(tip.adoption[0] for tip in tips if tip.adoption)}
    start_ms = int(now.timestamp() * 1000) - days * DAY_MS
    rows = events.rows(tenant, since_ms=start_ms, types=sorted(kinds))
    return tip_effectiveness(tips, rows, now, days=days, adoption_days=adoption_days)
