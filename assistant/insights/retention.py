"""Education against retention: do accounts that learn more renew more?

Accounts are grouped by how much of their learning paths their users completed (the share
of path steps done, from the learning state), and each group reports its renewal outcomes
(renewed, churned, still open — from the account facts the host product sends as
``account_updated`` with ``status``) and today's health bands. It is a correlation to look
at, not a causal claim; the counts are shown so a small group is not over-read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from assistant.errors import LearnloopError
from assistant.events.log import EventLog
from assistant.events.model import EventRow
from assistant.health.service import HealthService
from assistant.learning.service import LearningService

__all__ = [
    "BUCKETS",
    "AccountOutcome",
    "account_facts",
    "education_retention",
    "education_retention_report",
    "outcome_of",
]

# Path completion share → group (lower bound inclusive).
BUCKETS: tuple[tuple[float, str], ...] = (
    (0.0, "0-24%"), (0.25, "25-49%"), (0.5, "50-74%"), (0.75, "75-100%"),
)


@dataclass(frozen=True)
class AccountOutcome:
    account_id: str
    completion_share: float
    outcome: str  # renewed | churned | open
    band: str | None = None


def account_facts(rows: Iterable[EventRow]) -> dict[str, dict[str, Any]]:
    """Each account's latest value of every ``account_updated`` property (rows in time order)."""
    facts: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.type == "account_updated":
            facts.setdefault(row.account_id, {}).update(row.props())
    return facts


def outcome_of(facts: dict[str, Any]) -> str:
    status = str(facts.get("status", "")).lower()
    if status in ("churned", "cancelled", "canceled"):
        return "churned"
    if status == "renewed":
        return "renewed"
    return "open"


def education_retention(accounts: Sequence[AccountOutcome]) -> dict[str, Any]:
    groups = []
    for index, (low, label) in enumerate(BUCKETS):
        high = BUCKETS[index + 1][0] if index + 1 < len(BUCKETS) else 1.01
        members = [a for a in accounts if low <= a.completion_share < high]
        outcomes = Counter(a.outcome for a in members)
        decided = outcomes["renewed"] + outcomes["churned"]
        groups.append({
            "path_completion": label,
            "accounts": len(members),
            "renewed": outcomes["renewed"],
            "churned": outcomes["churned"],
            "open": outcomes["open"],
            # Among accounts whose renewal was decided; None when none was.
            "renewal_rate": round(outcomes["renewed"] / decided, 3) if decided else None,
            "bands": dict(Counter(a.band for a in members if a.band)),
        })
    return {"groups": groups, "accounts": len(accounts)}


def education_retention_report(
    tenant: str,
    event_log: EventLog,
    learning: LearningService,
    health: HealthService,
    now: datetime,
) -> dict[str, Any]:
    """``education_retention`` over every account of ``tenant``: completion from the
    learning service, renewal facts from the event log, today's band from health."""
    facts = account_facts(event_log.rows(tenant, types=("account_updated",)))
    bands = {row.account_id: row.band for row in health.accounts(tenant, now)}
    outcomes = []
    for account_id in event_log.accounts(tenant):
        try:
            state = learning.account(tenant, account_id, now).as_dict()
        except LearnloopError:  # an account with facts but no user events yet
            continue
        share = float(state["aggregate"]["completion_share"])
        outcome = outcome_of(facts.get(account_id, {}))
        outcomes.append(AccountOutcome(account_id, share, outcome, bands.get(account_id)))
    return education_retention(outcomes)
