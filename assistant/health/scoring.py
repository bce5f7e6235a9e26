"""Account health (DESIGN "Health"): pure scoring with the clock passed in, no I/O.

Two steps, so that a whole tenant is scored in one pass over its engagement log::

    acc = HealthAccumulator(now)          # windows are fixed by ``now``
    for row in event_rows: acc.add(row)   # O(1) work per event, per-account state
    health = score_account(acc.activity(account_id), facts, now, weights)

``facts`` (``KnowledgeFacts``) is what the tenant's knowledge says about features: which
article, tip or workflow is about which feature, and which features each learning path
expects by which stage. It is plain data, built elsewhere from the catalogs.

Model (every number below is a module constant, documented in the README):

- components, each 0-100, or ``None`` when there is no data for it (then it is left out and
  the remaining weights are renormalised):
  education  mean of: share of active users (any event, 30 d) who did something to learn
             (target 50 %); path steps done against the steps due by the account's tenure;
             tip engagement rate (clicked / adopted / found helpful per tip shown, 30 d,
             target 40 %); share of questions answered (30 d)
  usage      mean of: share of recently seen users (90 d) who logged in during the last
             14 d (target 60 %); distinct features used in 30 d (target 8, or fewer when
             the catalog knows fewer features)
  support    100 - 8 per support ticket in the last 30 d
  sentiment  mean of: each user's latest NPS (180 d) x 10; helpful share of answer
             feedback (90 d)
- score: weighted mean, rounded half up to an integer; band from the rounded score:
  green 80-100, yellow 60-79, red below 60 (so 79.5 is 80, green; 59.49 is 59, red)
- segment, first that holds: dormant (no user event for 30 d), at_risk (no login for 14 d,
  or active user-days fell by half against the previous 30 d from at least 10, or more
  than 5 tickets in 30 d), power (at least 10 active days per active user in 30 d and at
  least 5 distinct features in 30 d), casual (the rest)
- maturity from the account's ``created_at`` (else its first event): new below 30 days,
  growing 30-89 days, mature from 90 days
- plays (``assistant.health.plays``) from segment, maturity, signals and ``PlayFacts``, with
  the tenant's ``PlaysConfig``
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from assistant.access.tenant_config import PlaysConfig
from assistant.clock import DAY_MS
from assistant.events.model import MAX_FUTURE, EventRow
from assistant.health.plays import MissingStep, Play, PlayFacts, choose_plays
from assistant.learning.rules import (
    LEARNING_TYPES,
    VIEW_TYPES,
    LearningPath,
    PathLibrary,
    StepEvidence,
    path_for_role,
    step_completion,
)
from assistant.settings import DEFAULT_WEIGHTS, validate_weights

__all__ = [
    "SIGNAL_CODES",
    "AccountActivity",
    "AccountHealth",
    "Band",
    "ComponentScore",
    "HealthAccumulator",
    "KnowledgeFacts",
    "Maturity",
    "Resource",
    "Segment",
    "Signal",
    "as_of",
    "band_of",
    "maturity_of",
    "round_score",
    "score_account",
    "score_accounts",
]

Band = Literal["green", "yellow", "red"]
Segment = Literal["power", "casual", "at_risk", "dormant"]
Maturity = Literal["new", "growing", "mature"]
Severity = Literal["high", "medium", "low"]

SIGNAL_CODES = (
    "education_engagement_dropped",
    "reading_unused_feature",
    "untouched_capability",
    "no_login_14d",
    "tickets_over_5_in_30d",
    "renewal_within_90d",
    "nps_detractor",
    "low_feature_adoption",
)

_FUTURE_MS = int(MAX_FUTURE.total_seconds() * 1000)

# --- thresholds ------------------------------------------------------------------------------
LEARNING_SHARE_TARGET = 0.5      # half the active users learning in 30 d is full marks
TIP_ENGAGEMENT_TARGET = 0.4      # DESIGN "Tips": >= 40 % engagement is excellent
LOGIN_COVERAGE_TARGET = 0.6      # 60 % of recently seen users logging in within 14 d
FEATURE_DEPTH_TARGET = 8         # distinct features used in 30 d
TICKET_PENALTY = 8               # support score points lost per ticket in 30 d
TICKET_RISK = 5                  # more than this many tickets in 30 d is a risk
TICKET_HIGH = 10                 # ... and a high one from this many
DROP_MIN_BASE = 10               # learning events in the previous 30 d for a drop to count
DROP_RATIO = 0.5                 # dropped: last 30 d <= half the previous 30 d
DROP_HIGH_RATIO = 0.2            # high severity: last 30 d <= a fifth
READ_MIN = 2                     # reads of a feature's resources (30 d) for an opportunity
READ_STRONG_USERS = 3            # medium severity from this many distinct readers
UNTOUCHED_MEDIUM = 3             # untouched capabilities that make it a medium signal
RENEWAL_DAYS = 90
NPS_DETRACTOR_BELOW = 7          # NPS answers 0-6 are detractors
NPS_DETRACTOR_HIGH = 4           # ... and 0-4 a high-severity one
LOW_ADOPTION_SHARE = 0.3         # under 30 % of the tracked features used in 30 d
UNUSED_LISTED = 12               # unused features named in the adoption evidence
POWER_DAYS_PER_USER = 10.0
POWER_FEATURES = 5
AT_RISK_DECLINE = 0.5
AT_RISK_MIN_BASE = 10
NEW_DAYS, MATURE_DAYS = 30, 90
NPS_WINDOW_DAYS, FEEDBACK_WINDOW_DAYS, SEEN_WINDOW_DAYS, TEXT_WINDOW_DAYS = 180, 90, 90, 90
_MENTION_CACHE = 50_000          # distinct question and ticket texts remembered
EVIDENCE_LIMIT = 5               # features, users or tickets named per signal

# Facts about an account or user, not something a user did.
FACT_TYPES = frozenset({"account_updated", "user_updated"})
# Stage windows in days of tenure: a stage's steps are due progressively over its window.
STAGE_WINDOWS: dict[str, tuple[int, int] | None] = {
    "week1": (0, 7), "month1": (7, 30), "month3": (30, 90), "ongoing": None,
}
_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
# Words too common in questions to say which feature they are about: verbs in feature
# names ("tasks.create") and broad tags ("time", "list", "status").
_GENERIC_WORDS = frozenset({
    "create", "use", "run", "apply", "configure", "save", "login", "track", "invite", "token",
    "tokens", "tasks", "task", "projects", "project", "time", "list", "board", "data", "status",
    "custom", "configuration", "delete", "billing", "capture", "workflow", "quick", "search",
    "organization", "organize", "actions", "archived", "roles", "push", "spam", "comments",
    "complete", "views", "members", "assignee", "forwarding", "subtasks", "inbox", "estimates",
    "routine", "standardize", "cleanup", "navigation", "restore", "trash", "collaboration",
    "rest", "charts", "workload", "rules", "triggers", "labels", "guests", "digest",
    "productivity", "settings", "account", "team", "help", "due", "date", "dates",
})


# --- knowledge facts -------------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    """An article, tip or workflow, and the features it teaches."""

    id: str
    title: str
    kind: str = "article"
    features: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass
class KnowledgeFacts:
    """What the tenant's knowledge says about features (from every knowledge base)."""

    resources: dict[str, Resource] = field(default_factory=dict)
    library: PathLibrary = field(default_factory=lambda: PathLibrary.build([], []))

    def __post_init__(self) -> None:
        self.by_feature: dict[str, list[Resource]] = {}
        for resource in self.resources.values():
            for feature in resource.features:
                self.by_feature.setdefault(feature, []).append(resource)
        for path in self.paths:
            for step in path.steps:
                if step_feature := self.library.step_feature(step):
                    self.by_feature.setdefault(step_feature, [])
        self.keywords = _feature_keywords(self.by_feature)
        self._phrase_features: dict[str, set[str]] = {}
        for feature, phrases in self.keywords.items():
            for phrase in phrases:
                for form in _forms(phrase):
                    self._phrase_features.setdefault(form, set()).add(feature)
        self._mentions: dict[str, frozenset[str]] = {}
        alternatives = sorted(self._phrase_features, key=len, reverse=True)
        self._phrases = (
            re.compile(r"\b(" + "|".join(re.escape(p) for p in alternatives) + r")\b")
            if alternatives else None
        )

    @property
    def paths(self) -> list[LearningPath]:
        return list(self.library.paths.values())

    @property
    def features(self) -> set[str]:
        return set(self.by_feature)

    def features_mentioned(self, text: str) -> frozenset[str]:
        """Features a (lower-cased) question or ticket names, by their keywords. Results
        are remembered per text (customers ask the same things over and over)."""
        found = self._mentions.get(text)
        if found is not None:
            return found
        names: set[str] = set()
        if self._phrases is not None:
            for match in self._phrases.finditer(text):
                names |= self._phrase_features[match.group(1)]
        found = frozenset(names)
        if len(self._mentions) >= _MENTION_CACHE:
            self._mentions.clear()
        self._mentions[text] = found
        return found

    def title(self, resource_id: str) -> str:
        resource = self.resources.get(resource_id)
        return resource.title if resource else resource_id


def _forms(phrase: str) -> set[str]:
    """The phrase in singular and plural ("tags" and "tag", "dependency", "dependencies")."""
    if phrase.endswith("ies"):
        return {phrase, phrase[:-3] + "y"}
    if phrase.endswith("s") and not phrase.endswith("ss") and len(phrase) > 3:
        return {phrase, phrase[:-1]}
    if phrase.endswith("y"):
        return {phrase, phrase[:-1] + "ies"}
    return {phrase, phrase + "s"}


def _feature_keywords(by_feature: Mapping[str, list[Resource]]) -> dict[str, list[str]]:
    """Phrases that name a feature in a question or ticket: the specific words of its name
    ("bulk edit" for tasks.bulk_edit) and the tags only its own resources carry."""
    tag_owners: dict[str, set[str]] = {}
    for feature, resources in by_feature.items():
        for resource in resources:
            for tag in resource.tags:
                tag_owners.setdefault(tag.lower().replace("-", " "), set()).add(feature)
    keywords: dict[str, list[str]] = {}
    for feature in by_feature:
        words = [w for w in re.split(r"[._]", feature.lower()) if w]
        phrases = set()
        tail = " ".join(words[1:]) if len(words) > 1 else words[0] if words else ""
        if tail and not set(tail.split()) <= _GENERIC_WORDS:
            phrases.add(tail)
        if words and words[0] not in _GENERIC_WORDS and (len(words) == 1 or tail not in phrases):
            phrases.add(words[0])
        phrases.update(t for t, owners in tag_owners.items()
                       if owners == {feature} and not set(t.split()) <= _GENERIC_WORDS)
        keywords[feature] = sorted(p for p in phrases if len(p) >= 3)
    return keywords


# --- one pass over the log -------------------------------------------------------------------


@dataclass
class AccountActivity:
    """Everything scoring needs about one account, gathered in one pass. Times are epoch ms;
    windows are relative to the accumulator's ``now``."""

    account_id: str
    facts: dict[str, Any] = field(default_factory=dict)
    facts_ts: dict[str, int] = field(default_factory=dict)
    # per user: [first event, last event, last login or -1]
    users: dict[str, list[int]] = field(default_factory=dict)
    user_roles: dict[str, str] = field(default_factory=dict)
    other_first: int | None = None                                   # facts, user-less events
    other_last: int | None = None
    learners_30: set[str] = field(default_factory=set)
    learners_prev: set[str] = field(default_factory=set)
    last_learning_ms: int | None = None
    learning_30: int = 0
    learning_prev: int = 0
    user_days_30: set[tuple[str, int]] = field(default_factory=set)
    user_days_prev: set[tuple[str, int]] = field(default_factory=set)
    logins_14: int = 0
    features_last: dict[str, int] = field(default_factory=dict)     # feature -> last use
    reads_ever: set[str] = field(default_factory=set)
    reads_30: dict[str, list[Any]] = field(default_factory=dict)   # id -> [count, users, last]
    completed_refs: set[str] = field(default_factory=set)
    evidence: dict[str, StepEvidence] = field(default_factory=dict)  # per user, for path steps
    tips_shown_ever: set[str] = field(default_factory=set)
    tips_shown_30: int = 0
    tips_engaged_30: int = 0
    answers_30: int = 0
    answered_30: int = 0
    helpful_90: int = 0
    unhelpful_90: int = 0
    nps: dict[str, tuple[int, int]] = field(default_factory=dict)    # user -> (ts, score)
    tickets_30: list[tuple[int, str | None, str]] = field(default_factory=list)
    texts_90: list[tuple[int, str | None, str, str]] = field(default_factory=list)

    def fact(self, key: str) -> Any:
        return self.facts.get(key)

    @property
    def user_last(self) -> dict[str, int]:
        """Each user's latest event (facts about users aside)."""
        return {user: times[1] for user, times in self.users.items()}

    @property
    def user_login(self) -> dict[str, int]:
        """Each user's latest login, for users who ever logged in."""
        return {user: times[2] for user, times in self.users.items() if times[2] >= 0}

    @property
    def first_ms(self) -> int | None:
        times = [t[0] for t in self.users.values()]
        if self.other_first is not None:
            times.append(self.other_first)
        return min(times) if times else None

    @property
    def last_ms(self) -> int | None:
        times = [t[1] for t in self.users.values()]
        if self.other_last is not None:
            times.append(self.other_last)
        return max(times) if times else None


class HealthAccumulator:
    """Per-account state built from ``EventRow``s in any order, one O(1) update each.

    Events later than ``now`` (beyond the clock skew the log accepts) are ignored, so a
    recompute "as of" a past day sees only what was known then.
    """

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.now_ms = _ms(now)
        self._horizon = self.now_ms + _FUTURE_MS
        self._d14 = self.now_ms - 14 * DAY_MS
        self._d30 = self.now_ms - 30 * DAY_MS
        self._d60 = self.now_ms - 60 * DAY_MS
        self._d90 = self.now_ms - 90 * DAY_MS
        self._d180 = self.now_ms - NPS_WINDOW_DAYS * DAY_MS
        self.accounts: dict[str, AccountActivity] = {}

    def activity(self, account_id: str) -> AccountActivity:
        found = self.accounts.get(account_id)
        return found if found is not None else AccountActivity(account_id)

    def add(self, row: EventRow) -> None:
        self.add_all((row,))

    def add_all(self, rows: Iterable[EventRow]) -> HealthAccumulator:
        """The hot loop: logins and feature use (most of a log) are handled inline with
        local names; the rarer types go through ``_rest``."""
        accounts = self.accounts
        horizon, now_ms, d14, d30, d60 = (
            self._horizon, self.now_ms, self._d14, self._d30, self._d60,
        )
        facts, rest = FACT_TYPES, self._rest
        for row in rows:
            account_id, user, kind, subject, ts, _ = row
            if ts > horizon:
                continue
            acc = accounts.get(account_id)
            if acc is None:
                acc = accounts[account_id] = AccountActivity(account_id)
            if user is None or kind in facts:
                if acc.other_first is None or ts < acc.other_first:
                    acc.other_first = ts
                if acc.other_last is None or ts > acc.other_last:
                    acc.other_last = ts
                if kind in facts:
                    self._fact(acc, row)
                    continue
            else:
                times = acc.users.get(user)
                if times is None:
                    times = acc.users[user] = [ts, ts, -1]
                elif ts > times[1]:
                    times[1] = ts
                elif ts < times[0]:
                    times[0] = ts
                if ts >= d60:
                    if ts >= d30:
                        acc.user_days_30.add((user, (now_ms - ts) // DAY_MS))
                    else:
                        acc.user_days_prev.add((user, (now_ms - ts) // DAY_MS))
                if kind == "login":
                    if ts > times[2]:
                        times[2] = ts
                    if ts >= d14:
                        acc.logins_14 += 1
                    continue
                if subject is not None:
                    evidence = acc.evidence.get(user)
                    if evidence is None:
                        evidence = acc.evidence[user] = StepEvidence()
                    evidence.add(kind, subject, ts)
            if kind == "feature_used":
                if subject and ts > acc.features_last.get(subject, -1):
                    acc.features_last[subject] = ts
            elif kind != "login":
                rest(acc, row)
        return self

    def _rest(self, acc: AccountActivity, row: EventRow) -> None:
        _, user, kind, subject, ts, _ = row
        if kind in LEARNING_TYPES:
            if acc.last_learning_ms is None or ts > acc.last_learning_ms:
                acc.last_learning_ms = ts
            if ts >= self._d30:
                acc.learning_30 += 1
                if user is not None:
                    acc.learners_30.add(user)
            elif ts >= self._d60:
                acc.learning_prev += 1
                if user is not None:
                    acc.learners_prev.add(user)
        if kind in VIEW_TYPES:
            if subject:
                acc.reads_ever.add(subject)
                if ts >= self._d30:
                    entry = acc.reads_30.get(subject)
                    if entry is None:
                        entry = acc.reads_30[subject] = [0, set(), ts]
                    entry[0] += 1
                    if user is not None:
                        entry[1].add(user)
                    if ts > entry[2]:
                        entry[2] = ts
            if kind == "tip_clicked" and ts >= self._d30:
                acc.tips_engaged_30 += 1
        elif kind == "tip_shown":
            if subject:
                acc.tips_shown_ever.add(subject)
            if ts >= self._d30:
                acc.tips_shown_30 += 1
        elif kind == "tip_adopted" or kind == "tip_feedback":
            if ts >= self._d30 and (
                kind == "tip_adopted" or row.props().get("feedback", "").startswith("helpful")
            ):
                acc.tips_engaged_30 += 1
        elif kind == "path_step_completed":
            if subject:
                acc.completed_refs.add(subject)
        elif kind == "answer_given":
            if ts >= self._d30:
                acc.answers_30 += 1
                if row.props().get("answered") is True:
                    acc.answered_30 += 1
        elif kind == "answer_feedback":
            if ts >= self.now_ms - FEEDBACK_WINDOW_DAYS * DAY_MS:
                if row.props().get("helpful") is True:
                    acc.helpful_90 += 1
                else:
                    acc.unhelpful_90 += 1
        elif kind == "support_ticket":
            if ts >= self._d90:
                props = row.props()
                text = str(props.get("subject") or "")
                if ts >= self._d30:
                    acc.tickets_30.append((ts, subject, text))
                if text:
                    _keep_recent(acc.texts_90, (ts, user, "ticket", text.lower()))
        elif kind == "question_asked":
            if ts >= self._d90:
                text = str(row.props().get("question") or "")
                if text:
                    _keep_recent(acc.texts_90, (ts, user, "question", text.lower()))
        elif kind == "nps_response" and user is not None and ts >= self._d180:
            score = row.props().get("score")
            if isinstance(score, int) and ts >= acc.nps.get(user, (-1, 0))[0]:
                acc.nps[user] = (ts, score)

    def _fact(self, acc: AccountActivity, row: EventRow) -> None:
        props = row.props()
        if row.type == "user_updated":
            role = props.get("role")
            if row.user_id is not None and isinstance(role, str):
                acc.user_roles[row.user_id] = role
            return
        for key, value in props.items():
            if row.ts_ms >= acc.facts_ts.get(key, -1):
                acc.facts[key] = value
                acc.facts_ts[key] = row.ts_ms


def _keep_recent(items: list[Any], item: tuple[Any, ...], limit: int = 200) -> None:
    """Append, and once over twice the limit keep the most recent ``limit`` (amortised O(1))."""
    items.append(item)
    if len(items) > 2 * limit:
        items.sort(key=lambda i: i[0])
        del items[:-limit]


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComponentScore:
    score: float | None
    weight: float
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        score = None if self.score is None else round(self.score, 1)
        return {"score": score, "weight": self.weight, "details": self.details}


@dataclass(frozen=True)
class Signal:
    code: str
    severity: Severity
    message: str
    evidence: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code, "severity": self.severity, "message": self.message,
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class AccountHealth:
    account_id: str
    name: str
    score: int
    raw_score: float
    band: Band
    components: dict[str, ComponentScore]
    signals: list[Signal]
    segment: Segment
    maturity: Maturity
    tenure_days: int
    renewal_date: date | None
    plays: list[Play] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "name": self.name,
            "score": self.score,
            "band": self.band,
            "components": {name: c.as_dict() for name, c in self.components.items()},
            "signals": [s.as_dict() for s in self.signals],
            "segment": self.segment,
            "maturity": self.maturity,
            "tenure_days": self.tenure_days,
            "renewal_date": self.renewal_date.isoformat() if self.renewal_date else None,
            "plays": [p.as_dict() for p in self.plays],
        }

    def components_json(self) -> str:
        return json.dumps({n: c.as_dict() for n, c in self.components.items()}, sort_keys=True)


# --- scoring ---------------------------------------------------------------------------------


def round_score(value: float) -> int:
    """Half up, so a 79.5 is an 80 (green), as a CSM reading one decimal would expect."""
    return max(0, min(100, math.floor(value + 0.5)))


def band_of(score: int) -> Band:
    if score >= 80:
        return "green"
    if score >= 60:
        return "yellow"
    return "red"


def maturity_of(tenure_days: int) -> Maturity:
    if tenure_days < NEW_DAYS:
        return "new"
    if tenure_days < MATURE_DAYS:
        return "growing"
    return "mature"


def score_accounts(
    acc: HealthAccumulator, facts: KnowledgeFacts, weights: Mapping[str, float] | None = None,
    account_ids: Iterable[str] | None = None, plays: PlaysConfig | None = None,
) -> list[AccountHealth]:
    ids = list(account_ids) if account_ids is not None else sorted(acc.accounts)
    return [score_account(acc.activity(a), facts, acc.now, weights, plays) for a in ids]


def score_account(
    activity: AccountActivity,
    facts: KnowledgeFacts,
    now: datetime,
    weights: Mapping[str, float] | None = None,
    plays: PlaysConfig | None = None,
) -> AccountHealth:
    ctx = _Context(activity, facts, now)
    weights = validate_weights(weights if weights is not None else DEFAULT_WEIGHTS)
    parts = {
        "education": ctx.education(),
        "usage": ctx.usage(),
        "support": ctx.support(),
        "sentiment": ctx.sentiment(),
    }
    components = {
        name: ComponentScore(score, weights[name], details)
        for name, (score, details) in parts.items()
    }
    counted = [(c.score, c.weight) for c in components.values() if c.score is not None]
    total_weight = sum(w for _, w in counted)
    raw = sum(s * w for s, w in counted) / total_weight if total_weight > 0 else 0.0
    score = round_score(raw)
    band = band_of(score)
    signals = ctx.signals(band)
    segment = ctx.segment()
    maturity = maturity_of(ctx.tenure_days)
    plays = plays or PlaysConfig()
    play_facts = ctx.play_facts(segment, maturity, score, signals, plays)
    return AccountHealth(
        account_id=activity.account_id,
        name=str(activity.fact("name") or activity.account_id),
        score=score,
        raw_score=raw,
        band=band,
        components=components,
        signals=signals,
        segment=segment,
        maturity=maturity,
        tenure_days=ctx.tenure_days,
        renewal_date=ctx.renewal,
        plays=choose_plays(play_facts, plays),
    )


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _toward(value: float, target: float) -> float:
    return 100.0 * min(1.0, value / target) if target > 0 else 0.0


def _ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()


def _parse_date(value: Any) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.date()


def _guide(facts: KnowledgeFacts, feature: str) -> str:
    """The title of the material to send about a feature: an article if there is one."""
    resources = facts.by_feature[feature]
    return next((r.title for r in resources if r.kind == "article"), resources[0].title)


def _names(ids: Iterable[str], limit: int = EVIDENCE_LIMIT) -> str:
    ordered = sorted(ids)
    shown = ", ".join(ordered[:limit])
    return shown + (f" and {len(ordered) - limit} more" if len(ordered) > limit else "")


class _Context:
    """One account's derived figures, computed once and shared by components and signals."""

    def __init__(self, a: AccountActivity, facts: KnowledgeFacts, now: datetime) -> None:
        self.a = a
        self.facts = facts
        self.now = now if now.tzinfo else now.replace(tzinfo=UTC)
        self.now_ms = _ms(self.now)
        self.d14 = self.now_ms - 14 * DAY_MS
        self.d30 = self.now_ms - 30 * DAY_MS
        self.d90 = self.now_ms - SEEN_WINDOW_DAYS * DAY_MS
        self.active_30 = {u for u, t in a.user_last.items() if t >= self.d30}
        self.seen_90 = {u for u, t in a.user_last.items() if t >= self.d90}
        self.login_14 = {u for u, t in a.user_login.items() if t >= self.d14}
        self.features_30 = {f for f, t in a.features_last.items() if t >= self.d30}
        created = _parse_date(a.fact("created_at"))
        start = created or (
            datetime.fromtimestamp(a.first_ms / 1000, UTC).date() if a.first_ms else None
        )
        self.tenure_days = max(0, (self.now.date() - start).days) if start else 0
        self.renewal = _parse_date(a.fact("renewal_date"))
        # Each user follows the path of their role, as in learning; the account follows those.
        self.user_paths = {
            u: path for u in sorted(a.users)
            if (path := path_for_role(facts.paths, a.user_roles.get(u))) is not None
        }
        self.paths = list({p.id: p for p in self.user_paths.values()}.values())
        self._steps_done: set[tuple[str, str]] | None = None

    # -- components ---------------------------------------------------------------------

    def education(self) -> tuple[float | None, dict[str, Any]]:
        a = self.a
        learning_share = len(a.learners_30 & self.active_30) / len(self.active_30) \
            if self.active_30 else 0.0
        done, due = self.path_progress()
        tip_rate = min(1.0, a.tips_engaged_30 / a.tips_shown_30) if a.tips_shown_30 else None
        answered = a.answered_30 / a.answers_30 if a.answers_30 else None
        subs = {
            "learning_users": _toward(learning_share, LEARNING_SHARE_TARGET),
            "path_progress": _toward(done, due) if due > 0 else None,
            "tip_engagement": None if tip_rate is None else _toward(tip_rate,
                                                                    TIP_ENGAGEMENT_TARGET),
            "questions_answered": None if answered is None else 100.0 * answered,
        }
        details = {
            "active_users_30d": len(self.active_30),
            "learning_users_30d": len(a.learners_30 & self.active_30),
            "path_steps_done": done,
            "path_steps_due": round(due, 1),
            "tips_shown_30d": a.tips_shown_30,
            "tips_engaged_30d": a.tips_engaged_30,
            "answers_30d": a.answers_30,
            "answered_30d": a.answered_30,
            "parts": {k: None if v is None else round(v, 1) for k, v in subs.items()},
        }
        return _mean(subs.values()), details

    def path_progress(self) -> tuple[int, float]:
        """Steps of the account's paths that one of the users following them completed (the
        rule of learning, ``step_completion``), and steps due by tenure (each stage's steps
        fall due evenly over its window; 'ongoing' is never due)."""
        return len(self.steps_done()), self.steps_due()

    def steps_done(self) -> set[tuple[str, str]]:
        """(path id, step ref) of every step completed by a user on that path (computed once;
        the education component and the plays both read it)."""
        if self._steps_done is not None:
            return self._steps_done
        done: set[tuple[str, str]] = set()
        library = self.facts.library
        for user, path in self.user_paths.items():
            evidence = self.a.evidence.get(user)
            if evidence is None:
                continue
            features = evidence.features
            for step in path.steps:
                if (path.id, step.ref) not in done and step_completion(
                    step, evidence, library, features
                ) is not None:
                    done.add((path.id, step.ref))
        self._steps_done = done
        return done

    def steps_due(self) -> float:
        due = 0.0
        for path in self.paths:
            for step in path.steps:
                window = STAGE_WINDOWS.get(step.stage)
                if window is not None:
                    start, end = window
                    due += min(1.0, max(0.0, (self.tenure_days - start) / (end - start)))
        return due

    def usage(self) -> tuple[float | None, dict[str, Any]]:
        coverage = len(self.login_14 & self.seen_90) / len(self.seen_90) if self.seen_90 else 0.0
        known = len(self.facts.features)
        target = min(FEATURE_DEPTH_TARGET, known) if known else FEATURE_DEPTH_TARGET
        subs = {
            "login_coverage": _toward(coverage, LOGIN_COVERAGE_TARGET),
            "feature_depth": _toward(len(self.features_30), target),
        }
        details = {
            "users_seen_90d": len(self.seen_90),
            "users_logged_in_14d": len(self.login_14 & self.seen_90),
            "logins_14d": self.a.logins_14,
            "features_used_30d": len(self.features_30),
            "feature_target": target,
            "parts": {k: round(v, 1) for k, v in subs.items()},
        }
        return _mean(subs.values()), details

    def support(self) -> tuple[float | None, dict[str, Any]]:
        tickets = len(self.a.tickets_30)
        return max(0.0, 100.0 - TICKET_PENALTY * tickets), {"tickets_30d": tickets}

    def sentiment(self) -> tuple[float | None, dict[str, Any]]:
        a = self.a
        scores = [s for _, s in a.nps.values()]
        nps = 10.0 * sum(scores) / len(scores) if scores else None
        rated = a.helpful_90 + a.unhelpful_90
        feedback = 100.0 * a.helpful_90 / rated if rated else None
        details = {
            "nps_responses": len(scores),
            "nps_average": round(sum(scores) / len(scores), 1) if scores else None,
            "detractors": sorted(u for u, (_, s) in a.nps.items() if s < 7),
            "answer_feedback_helpful_90d": a.helpful_90,
            "answer_feedback_unhelpful_90d": a.unhelpful_90,
        }
        return _mean([nps, feedback]), details

    # -- segment ------------------------------------------------------------------------

    def segment(self) -> Segment:
        a = self.a
        if not self.active_30:
            return "dormant"
        days_30, days_prev = len(a.user_days_30), len(a.user_days_prev)
        declining = days_prev >= AT_RISK_MIN_BASE and days_30 < AT_RISK_DECLINE * days_prev
        if not self.login_14 or declining or len(a.tickets_30) > TICKET_RISK:
            return "at_risk"
        if (days_30 / len(self.active_30) >= POWER_DAYS_PER_USER
                and len(self.features_30) >= POWER_FEATURES):
            return "power"
        return "casual"

    # -- signals ------------------------------------------------------------------------

    def signals(self, band: Band) -> list[Signal]:
        found = [
            self.engagement_dropped(),
            self.reading_unused_feature(),
            self.untouched_capability(),
            self.no_login(),
            self.tickets(),
            self.renewal_soon(band),
            self.nps_detractor(),
            self.low_feature_adoption(),
        ]
        present = [s for s in found if s is not None]
        return sorted(present, key=lambda s: (_SEVERITY_ORDER[s.severity],
                                              SIGNAL_CODES.index(s.code)))

    def engagement_dropped(self) -> Signal | None:
        a = self.a
        now_p, prev = a.learning_30, a.learning_prev
        if prev < DROP_MIN_BASE or now_p > DROP_RATIO * prev:
            return None
        drop = round(100 * (prev - now_p) / prev)
        prev_range = f"{_day(self.now_ms - 60 * DAY_MS)} to {_day(self.now_ms - 30 * DAY_MS)}"
        last_range = f"{_day(self.now_ms - 30 * DAY_MS)} to {_day(self.now_ms)}"
        evidence = [
            f"learning events: {prev} ({prev_range}) then {now_p} ({last_range}), -{drop}%",
            f"users learning: {len(a.learners_prev)} then {len(a.learners_30)}",
        ]
        stopped = a.learners_prev - a.learners_30
        if stopped:
            evidence.append(f"stopped learning: {_names(stopped)}")
        if a.last_learning_ms is not None:
            evidence.append(f"last learning event: {_day(a.last_learning_ms)}")
        return Signal(
            "education_engagement_dropped",
            "high" if now_p <= DROP_HIGH_RATIO * prev else "medium",
            f"Learning activity dropped {drop}% in the last 30 days "
            f"({prev} → {now_p} questions, reads, tips and path steps).",
            evidence,
        )

    def reading_unused_feature(self) -> Signal | None:
        a = self.a
        by_feature: dict[str, list[tuple[str, list[Any]]]] = {}
        for resource_id, entry in a.reads_30.items():
            resource = self.facts.resources.get(resource_id)
            if resource is None:
                continue
            for feature in resource.features:
                if feature not in a.features_last:
                    by_feature.setdefault(feature, []).append((resource_id, entry))
        ranked = []
        for feature, reads in by_feature.items():
            count = sum(e[0] for _, e in reads)
            if count < READ_MIN:
                continue
            readers = set().union(*(e[1] for _, e in reads))
            ranked.append((count, feature, reads, readers))
        if not ranked:
            return None
        ranked.sort(key=lambda r: (-r[0], r[1]))
        evidence = []
        for count, feature, reads, readers in ranked[:EVIDENCE_LIMIT]:
            titles = "; ".join(
                f"'{self.facts.title(rid)}' ×{e[0]}" for rid, e in sorted(reads, key=lambda r:
                                                                            -r[1][0])[:3]
            )
            last = max(e[2] for _, e in reads)
            evidence.append(
                f"{feature}: {count} reads by {_names(readers) or 'unknown users'} "
                f"(last {_day(last)}): {titles}; feature never used"
            )
        top_readers = max(len(r[3]) for r in ranked)
        features = [r[1] for r in ranked[:3]]
        return Signal(
            "reading_unused_feature",
            "medium" if top_readers >= READ_STRONG_USERS else "low",
            f"Users are reading about {', '.join(features)} but the account has never used "
            f"{'it' if len(features) == 1 else 'them'}: an adoption opportunity.",
            evidence,
        )

    def untouched_capability(self) -> Signal | None:
        """Features that would help this account and that it has neither used nor read
        about: features of steps its paths have made due by now, features of tips it was
        shown, and any feature its questions or tickets (90 d) mention."""
        a = self.a
        touched_features = set(a.features_last)
        for rid in a.reads_ever | a.completed_refs:
            resource = self.facts.resources.get(rid)
            if resource is not None:
                touched_features.update(resource.features)
        feature_of = self.facts.library.step_feature
        for path in self.paths:
            for step in path.steps:
                feature = feature_of(step)
                if feature and step.ref in (a.reads_ever | a.completed_refs):
                    touched_features.add(feature)
        reasons: dict[str, list[str]] = {}
        stage_rank: dict[str, int] = {}
        for path in self.paths:
            for step in path.steps:
                window = STAGE_WINDOWS.get(step.stage)
                feature = feature_of(step)
                if not feature or window is None or self.tenure_days < window[1]:
                    continue
                reasons.setdefault(feature, []).append(
                    f"'{path.title}' {step.stage} step '{step.title}' "
                    f"(due by day {window[1]}; account is on day {self.tenure_days})"
                )
                stage_rank[feature] = min(stage_rank.get(feature, 9),
                                          list(STAGE_WINDOWS).index(step.stage))
        for tip_id in a.tips_shown_ever:
            tip = self.facts.resources.get(tip_id)
            if tip is not None:
                for feature in tip.features:
                    reasons.setdefault(feature, []).append(f"tip '{tip.title}' was shown")
        mentioned: dict[str, list[tuple[int, str | None, str, str]]] = {}
        for item in sorted(a.texts_90, key=lambda t: -t[0]):
            for feature in self.facts.features_mentioned(item[3]):
                if feature not in touched_features:
                    mentioned.setdefault(feature, []).append(item)
        for feature in mentioned:
            reasons.setdefault(feature, [])
        untouched = [f for f in reasons if f not in touched_features]
        if not untouched:
            return None
        untouched.sort(key=lambda f: (f not in mentioned, -len(mentioned.get(f, [])),
                                      stage_rank.get(f, 9), f))
        evidence = []
        for feature in untouched[:EVIDENCE_LIMIT]:
            resources = self.facts.by_feature.get(feature, [])
            titles = ", ".join(f"'{r.title}'" for r in resources[:2]) or "no resource"
            asks = mentioned.get(feature, [])
            why = reasons[feature][:1]
            if len(asks) > 2:
                why.append(f"named in {len(asks)} questions and tickets in 90 days")
            why += [f"{source} on {_day(ts)} by {user or 'unknown'}: \"{text[:80]}\""
                    for ts, user, source, text in asks[:2]]
            evidence.append(
                f"{feature}: never used, none of its {len(resources)} resources read "
                f"({titles}); " + "; ".join(why)
            )
        if len(untouched) > EVIDENCE_LIMIT:
            evidence.append(f"{len(untouched) - EVIDENCE_LIMIT} more untouched: "
                            f"{_names(untouched[EVIDENCE_LIMIT:])}")
        asked = [f for f in untouched if f in mentioned]
        severity: Severity = "medium" if asked or len(untouched) >= UNTOUCHED_MEDIUM else "low"
        lead = asked[:2] or untouched[:2]
        message = (
            f"They ask about {', '.join(lead)} but never used it or read its guides: "
            "a conversation to have."
            if asked else
            f"{len(untouched)} capabilities due on their learning paths are untouched "
            f"(no use, no reading), starting with {', '.join(lead)}: a conversation to have."
        )
        return Signal("untouched_capability", severity, message, evidence)

    def no_login(self) -> Signal | None:
        a = self.a
        if self.login_14:
            return None
        if a.user_login:
            user, last = max(a.user_login.items(), key=lambda i: i[1])
            days = (self.now_ms - last) // DAY_MS
            evidence = [f"last login {_day(last)} by {user} ({days} days ago)",
                        f"{len(a.user_login)} users have ever logged in"]
        else:
            evidence = ["no login ever recorded for this account"]
        if a.last_ms is not None:
            evidence.append(f"last event of any kind: {_day(a.last_ms)}")
        return Signal("no_login_14d", "high", "Nobody has logged in for 14 days.", evidence)

    def tickets(self) -> Signal | None:
        tickets = sorted(self.a.tickets_30, key=lambda t: -t[0])
        if len(tickets) <= TICKET_RISK:
            return None
        evidence = [f"{len(tickets)} tickets between {_day(self.d30)} and {_day(self.now_ms)}"]
        for ts, ticket_id, text in tickets[:EVIDENCE_LIMIT]:
            label = ticket_id or "ticket"
            evidence.append(f"{_day(ts)} {label}" + (f": {text[:80]}" if text else ""))
        return Signal(
            "tickets_over_5_in_30d",
            "high" if len(tickets) >= TICKET_HIGH else "medium",
            f"{len(tickets)} support tickets in the last 30 days (more than {TICKET_RISK}).",
            evidence,
        )

    def renewal_soon(self, band: Band) -> Signal | None:
        if self.renewal is None:
            return None
        days = (self.renewal - self.now.date()).days
        if not 0 <= days <= RENEWAL_DAYS:
            return None
        severities: dict[Band, Severity] = {"red": "high", "yellow": "medium", "green": "low"}
        severity = severities[band]
        evidence = [f"renewal on {self.renewal.isoformat()} ({days} days)"]
        for key in ("plan", "seats"):
            if self.a.fact(key) is not None:
                evidence.append(f"{key}: {self.a.fact(key)}")
        evidence.append(f"health band today: {band}")
        return Signal("renewal_within_90d", severity,
                      f"Renewal in {days} days while the account is {band}.", evidence)

    def nps_detractor(self) -> Signal | None:
        """The account's latest NPS answer (each user's latest in 180 d; the newest of those,
        the lower score on a tie) is below 7."""
        nps = self.a.nps
        if not nps:
            return None
        user, (ts, score) = max(nps.items(), key=lambda i: (i[1][0], -i[1][1], i[0]))
        if score >= NPS_DETRACTOR_BELOW:
            return None
        days = (self.now_ms - ts) // DAY_MS
        evidence = [f"latest NPS answer: {score} by {user} on {_day(ts)} ({days} days ago)"]
        others = sorted((u, s) for u, (_, s) in nps.items()
                        if s < NPS_DETRACTOR_BELOW and u != user)
        if others:
            evidence.append("other detractors in 180 days: " + ", ".join(
                f"{u} ({s})" for u, s in others[:EVIDENCE_LIMIT]))
        average = sum(s for _, s in nps.values()) / len(nps)
        evidence.append(f"{len(nps)} users answered in 180 days, average {average:.1f}")
        return Signal(
            "nps_detractor", "high" if score <= NPS_DETRACTOR_HIGH else "medium",
            f"The latest NPS answer is {score} (a detractor), from {user}.", evidence,
        )

    def low_feature_adoption(self) -> Signal | None:
        """Fewer than 30 % of the tenant's tracked features used in 30 d. Tracked features
        are those its knowledge teaches (articles, tips, workflows and path steps that name
        a feature): the product as the tenant documents it, the same for every account, so
        one account's score never moves because of another account's events."""
        tracked = self.facts.features
        if not tracked:
            return None
        used = sorted(self.features_30 & tracked)
        share = len(used) / len(tracked)
        if share >= LOW_ADOPTION_SHARE:
            return None
        percent = round(100 * share)
        unused = sorted(tracked - self.features_30)
        evidence = [
            f"{len(used)} of {len(tracked)} tracked features used in the last 30 days "
            f"({percent}%, below {round(100 * LOW_ADOPTION_SHARE)}%)",
            f"used: {', '.join(used) or 'none'}",
            f"not used: {_names(unused, UNUSED_LISTED)}",
        ]
        untracked = self.features_30 - tracked
        if untracked:
            evidence.append(f"also used, not taught by the knowledge: {_names(untracked)}")
        return Signal(
            "low_feature_adoption", "medium" if share < LOW_ADOPTION_SHARE / 2 else "low",
            f"Only {len(used)} of the {len(tracked)} features the help center teaches were "
            f"used in the last 30 days ({percent}%).", evidence,
        )

    # -- plays --------------------------------------------------------------------------

    def play_facts(self, segment: Segment, maturity: Maturity, score: int,
                   signals: list[Signal], config: PlaysConfig) -> PlayFacts:
        a, facts = self.a, self.facts
        done = self.steps_done()
        missing: dict[str, MissingStep] = {}
        for path in self.paths:
            for step in path.steps:
                window = STAGE_WINDOWS.get(step.stage)
                if (window is None or self.tenure_days <= window[0] or step.ref in missing
                        or (path.id, step.ref) in done):
                    continue
                feature = facts.library.step_feature(step)
                resource = facts.resources.get(step.ref)
                missing[step.ref] = MissingStep(
                    step.title, step.stage, feature, resource.title if resource else None,
                    self.tenure_days >= window[1],
                )
        reads: dict[str, int] = {}
        for resource_id, entry in a.reads_30.items():
            resource = facts.resources.get(resource_id)
            for feature in resource.features if resource else ():
                reads[feature] = reads.get(feature, 0) + entry[0]
        asks: dict[str, int] = {}
        for item in a.texts_90:
            for feature in facts.features_mentioned(item[3]):
                asks[feature] = asks.get(feature, 0) + 1
        login = max(a.user_login.items(), key=lambda i: (i[1], i[0])) if a.user_login else None
        wanted = {s.feature for s in missing.values() if s.feature} | set(config.launch_features)
        return PlayFacts(
            account_id=a.account_id,
            segment=segment,
            maturity=maturity,
            tenure_days=self.tenure_days,
            score=score,
            signals=tuple(s.code for s in signals),
            path_steps_done=len(done),
            path_steps_due=self.steps_due(),
            missing_steps=tuple(missing.values()),
            features_30=frozenset(self.features_30),
            features_ever=tuple(sorted(a.features_last, key=lambda f: (-a.features_last[f], f))),
            reads_30=reads,
            asks_90=asks,
            days_since_login=None if login is None else (self.now_ms - login[1]) // DAY_MS,
            last_login_user=None if login is None else login[0],
            days_since_event=None if a.last_ms is None else (self.now_ms - a.last_ms) // DAY_MS,
            active_users_30=len(self.active_30),
            active_days_per_user=(len(a.user_days_30) / len(self.active_30)
                                  if self.active_30 else 0.0),
            admins=tuple(sorted(u for u, r in a.user_roles.items() if r == "admin")),
            promoters=tuple(sorted(u for u, (_, s) in a.nps.items() if s >= 9)),
            renewal_days=(self.renewal - self.now.date()).days if self.renewal else None,
            guides={f: _guide(facts, f) for f in sorted(wanted) if facts.by_feature.get(f)},
        )


def as_of(day: date) -> datetime:
    """The end of a UTC day, the moment a backfilled snapshot is scored at."""
    return datetime.combine(day, datetime.min.time(), UTC) + timedelta(days=1, milliseconds=-1)
