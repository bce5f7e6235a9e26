"""Whether one user gets a tip now, which one, and why not (DESIGN "Tips").

Pure rules over what the engagement log says about the user; ``TipService`` reads the log and
records the outcome. In the order they are applied:

holdout   a stable bucket 0-99 per user (hash of tenant and user); users below the tenant's
          holdout share never see tips, but their eligibility is recorded (``tip_eligible``)
          so that adoption can be compared with the users who saw them.
paused    "pause all tips" (a ``tip_dismissed`` with scope ``all``) hides tips for 30 days.
session   at most one tip per session: the session's tip is offered again until the user
          acts on it (click, dismiss, feedback), then nothing more in that session.
eligible  the tip's trigger fired in the last 14 days and after the tip was last shown (a
          tip is shown once per firing); its level fits the user's stage (advanced material
          never before month 3), its audience the user's role, its plans the account's plan;
          what it teaches is not adopted yet.
hidden    a dismissed tip stays hidden 30 days; "not like this" (scope ``category``) hides
          the tip's category from then on; a tip the user clicked or answered is not offered
          again, nor one already shown twice (no nagging).
spacing   at least the tenant's spacing (2 days by default) between two tips shown to a
          user; a ``high`` priority tip may skip it, never the session cap. A tip kept back
          by spacing is deferred, not dropped: its firing counts for 14 days.
choice    high priority first, then a tip in the user's language, then the latest firing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from assistant.clock import DAY_MS
from assistant.events.model import EventRow
from assistant.learning.rules import STAGES, audience_for_role, profile_update, stage_for_days
from assistant.tips.library import PRIORITIES, Tip

__all__ = [
    "DEFER_DAYS",
    "DISMISS_DAYS",
    "PAUSE_DAYS",
    "Decision",
    "DeliveryRules",
    "TipHistory",
    "decide",
    "holdout_bucket",
]

DISMISS_DAYS = 30
PAUSE_DAYS = 30
DEFER_DAYS = 14
MAX_SHOWS = 2  # a tip shown this often without being taken up is not offered again
# Tip events a user's history is built from (besides the adoption events of the tips).
TIP_TYPES = ("tip_shown", "tip_clicked", "tip_dismissed", "tip_feedback", "tip_adopted",
             "tip_eligible")
_ACTED = frozenset({"tip_clicked", "tip_dismissed", "tip_feedback", "tip_adopted"})
# Who a tip's audience is for, by the audience of the user's role (audience_for_role).
_AUDIENCE_FITS = {
    "admin": {"admin"},
    "manager": {"admin", "manager"},
}


def holdout_bucket(tenant: str, user_id: str) -> int:
    """A user's stable bucket 0-99: the same on every machine and after every restart."""
    digest = hashlib.sha256(f"{tenant}\x00{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


@dataclass(frozen=True)
class DeliveryRules:
    """A tenant's delivery settings (``TenantConfig``)."""

    spacing_days: float = 2.0
    holdout_percent: int = 10


@dataclass
class TipHistory:
    """What the log says about one user and tips, reduced for the rules."""

    shown: dict[str, list[tuple[int, str | None]]] = field(default_factory=dict)
    last_acted: dict[str, int] = field(default_factory=dict)
    engaged: set[str] = field(default_factory=set)  # tips clicked, answered or adopted
    dismissed: dict[str, int] = field(default_factory=dict)
    hidden_categories: dict[str, int] = field(default_factory=dict)
    paused_at: int | None = None
    # (event type, subject) of everything the user did that could be an adoption
    done: set[tuple[str, str | None]] = field(default_factory=set)
    role: str | None = None
    created_ms: int | None = None
    first_ms: int | None = None
    done_kinds: set[str] = field(default_factory=set)  # the types in ``done``

    @classmethod
    def from_rows(cls, rows: Iterable[EventRow], categories: Mapping[str, str]) -> TipHistory:
        """``rows``: the user's tip events and possible adoption events, in time order;
        ``categories``: tip id → category, for "not like this"."""
        history = cls()
        for row in rows:
            history.add(row, categories)
        return history

    def add(self, row: EventRow, categories: Mapping[str, str]) -> None:
        kind, subject, ts = row.type, row.subject, row.ts_ms
        self.first_ms = ts if self.first_ms is None else min(self.first_ms, ts)
        if kind == "tip_shown" and subject:
            session = row.props().get("session_id")
            self.shown.setdefault(subject, []).append(
                (ts, session if isinstance(session, str) else None)
            )
        elif kind == "tip_dismissed" and subject:
            props = row.props()
            scope = props.get("scope", "tip")
            if scope == "all":
                self.paused_at = max(ts, self.paused_at or ts)
            elif scope == "category":
                category = categories.get(subject) or props.get("category")
                if isinstance(category, str):
                    self.hidden_categories[category] = ts
            self.dismissed[subject] = ts
        elif kind == "user_updated":
            role, created = profile_update(row.props())
            self.role = role or self.role
            self.created_ms = created if created is not None else self.created_ms
        if kind in _ACTED and subject:
            self.last_acted[subject] = ts
            if kind != "tip_dismissed":
                self.engaged.add(subject)
        if kind not in TIP_TYPES or kind == "tip_adopted":
            self.did([(kind, subject)])

    def did(self, pairs: Iterable[tuple[str, str | None]]) -> None:
        """Add to what the user did: (event type, subject) pairs."""
        for kind, subject in pairs:
            self.done.add((kind, subject))
            self.done_kinds.add(kind)

    def adopted(self, tip: Tip) -> bool:
        return tip.adopted_in(self.done, self.done_kinds)

    def last_shown(self) -> int | None:
        return max((ts for shows in self.shown.values() for ts, _ in shows), default=None)


@dataclass(frozen=True)
class Eligible:
    tip: Tip
    fired_ms: int  # 0 for a tip without a trigger


@dataclass(frozen=True)
class Decision:
    tip: Tip | None
    reason: str
    eligible: tuple[Eligible, ...]  # every tip the user qualifies for now (holdout or not)
    holdout: bool
    bucket: int
    new_show: bool = False  # True when this decision shows the tip for the first time


def decide(
    tips: Sequence[Tip],
    history: TipHistory,
    fired: Mapping[str, int | None],
    *,
    tenant: str,
    user_id: str,
    session_id: str,
    now: datetime,
    rules: DeliveryRules,
    user_role: str | None = None,
    plan: str | None = None,
    locale: str | None = None,
) -> Decision:
    """The tip for this user in this session, or None with the reason.

    ``fired``: tip id → when its trigger last fired (epoch ms; absent or None: never).
    ``user_role`` (what the host's token says now) wins over a logged role."""
    now_ms = int(now.timestamp() * 1000)
    bucket = holdout_bucket(tenant, user_id)
    holdout = bucket < rules.holdout_percent
    role = user_role or history.role
    stage = _tenure_stage(history, now_ms)
    eligible = tuple(
        Eligible(tip, when)
        for tip in tips
        if (when := _firing(tip, fired.get(tip.id), history, now_ms)) is not None
        and _fits(tip, stage, role, plan)
        and not history.adopted(tip)
    )

    def no(reason: str) -> Decision:
        return Decision(None, reason, eligible, holdout, bucket)

    if holdout:
        return no(f"holdout: this user's bucket {bucket} is below the tenant's holdout share "
                  f"of {rules.holdout_percent} %, so they never see tips")
    if history.paused_at is not None and now_ms < history.paused_at + PAUSE_DAYS * DAY_MS:
        return no(f"paused: all tips paused until {_iso(history.paused_at + PAUSE_DAYS * DAY_MS)}")
    by_id = {tip.id: tip for tip in tips}
    for tip_id, shows in history.shown.items():
        in_session = [ts for ts, session in shows if session == session_id]
        if not in_session:
            continue
        acted = history.last_acted.get(tip_id)
        if (acted is None or acted < max(in_session)) and tip_id in by_id:
            return Decision(by_id[tip_id], "shown in this session: offered again until acted on",
                            eligible, holdout, bucket)
        return no(f"session cap: tip '{tip_id}' was already shown in this session")
    candidates: list[Eligible] = []
    hidden: list[str] = []
    for item in eligible:
        dismissed = history.dismissed.get(item.tip.id)
        if dismissed is not None and now_ms < dismissed + DISMISS_DAYS * DAY_MS:
            hidden.append(f"dismissed until {_iso(dismissed + DISMISS_DAYS * DAY_MS)}")
        elif item.tip.category in history.hidden_categories:
            hidden.append(f"not like this: category '{item.tip.category}' hidden")
        elif item.tip.id in history.engaged:
            hidden.append(f"already taken up: tip '{item.tip.id}' was clicked or answered")
        elif len(history.shown.get(item.tip.id, ())) >= MAX_SHOWS:
            hidden.append(f"retired: tip '{item.tip.id}' was shown {MAX_SHOWS} times already")
        else:
            candidates.append(item)
    if not candidates:
        return no(hidden[0] if hidden else "no eligible tip")
    last = history.last_shown()
    spacing_ms = int(rules.spacing_days * DAY_MS)
    if last is not None and now_ms < last + spacing_ms:
        urgent = [c for c in candidates if c.tip.priority == "high"]
        if not urgent:
            return no(f"spacing: next after {_iso(last + spacing_ms)}")
        candidates = urgent
    language = (locale or "").split("-")[0].lower()
    best = max(candidates, key=lambda c: (
        PRIORITIES.index(c.tip.priority),
        bool(language) and c.tip.locale.split("-")[0] == language,
        c.fired_ms,
        c.tip.id,
    ))
    return Decision(best.tip, _why(best), eligible, holdout, bucket, new_show=True)


def _firing(tip: Tip, fired_ms: int | None, history: TipHistory, now_ms: int) -> int | None:
    """When the tip's current firing happened, if it still counts: within the deferral window
    and after the tip was last shown (a tip is shown once per firing)."""
    if tip.trigger is None:
        when = 0
    elif fired_ms is None or fired_ms < now_ms - DEFER_DAYS * DAY_MS or fired_ms > now_ms:
        return None
    else:
        when = fired_ms
    shows = history.shown.get(tip.id)
    if shows and max(ts for ts, _ in shows) >= when:
        return None
    return when


def _fits(tip: Tip, stage: str, role: str | None, plan: str | None) -> bool:
    if tip.level == "advanced" and STAGES.index(stage) < STAGES.index("month3"):
        return False  # advanced material is never pushed on a new user
    if tip.audience in _AUDIENCE_FITS and audience_for_role(role) not in _AUDIENCE_FITS[
        tip.audience
    ]:
        return False
    return not tip.plans or (plan is not None and plan.lower() in tip.plans)


def _tenure_stage(history: TipHistory, now_ms: int) -> str:
    start = history.created_ms if history.created_ms is not None else history.first_ms
    days = max(0, (now_ms - start) // DAY_MS) if start is not None else 0
    return stage_for_days(int(days))


def _why(item: Eligible) -> str:
    tip = item.tip
    if tip.trigger is None:
        return "eligible: no trigger needed"
    return f"eligible: {tip.trigger.describe()} (fired {_iso(item.fired_ms)})"


def _iso(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%MZ")
