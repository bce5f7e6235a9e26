"""The tips of a knowledge base, read from its catalog (documents with ``kind: tip``).

A tip's front matter (DESIGN "Knowledge formats", README "Tips")::

    kind: tip
    title: "Let the status report come to you"     # the headline
    value: "removes a daily check-in of about 5 minutes"
    feature: reports.schedule      # what it teaches
    level: intermediate            # fitted to the user's stage
    audience: manager              # fitted to the user's role
    trigger: "report.viewed on 3 consecutive days"  # see triggers.py
    adoption: "feature_used: reports.schedule"      # default: feature_used of `feature`
    plans: [business, enterprise]  # only accounts on these plans (default: any)
    category: reports              # what "not like this" hides (default: feature's area)
    priority: high                 # high may skip the spacing between tips (default normal)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from assistant.events.model import EVENT_TYPES
from assistant.tips.triggers import Trigger, TriggerError, parse_trigger

__all__ = ["PRIORITIES", "Tip", "TipError", "tip_from_metadata", "tip_steps"]

PRIORITIES = ("low", "normal", "high")
_STEP = re.compile(r"^\s*\d{1,2}[.)]\s+(.+)$")


class TipError(ValueError):
    """A tip whose front matter cannot drive delivery, with what to fix."""


@dataclass(frozen=True)
class Tip:
    id: str
    title: str
    value: str | None
    feature: str | None
    level: str | None
    audience: str | None
    url: str | None
    locale: str
    trigger: Trigger | None  # None: eligible whenever the rest fits
    # The event that means the user adopted what the tip teaches: (type, subject or None).
    adoption: tuple[str, str | None] | None
    plans: frozenset[str]
    category: str
    priority: str

    def adopted_in(self, done: set[tuple[str, str | None]], kinds: set[str]) -> bool:
        """Whether ``done`` (every (type, subject) a user did; ``kinds``: their types) holds
        this tip's adoption."""
        if ("tip_adopted", self.id) in done:
            return True
        if self.adoption is None:
            return False
        kind, wanted = self.adoption
        return kind in kinds if wanted is None else (kind, wanted) in done

    def adopted_by(self, event_type: str, subject: str | None) -> bool:
        if event_type == "tip_adopted":
            return subject == self.id
        if self.adoption is None:
            return False
        kind, wanted = self.adoption
        return event_type == kind and (wanted is None or subject == wanted)


def tip_from_metadata(
    doc_id: str,
    title: str,
    meta: Mapping[str, Any],
    *,
    feature: str | None,
    level: str | None,
    audience: str | None,
    url: str | None,
    locale: str,
    tags: Iterable[str] = (),
) -> Tip:
    """A Tip from a document's fields and its extra front matter; ``TipError`` says which
    key is wrong (ingest reports it for the file and stores nothing of it)."""
    trigger = None
    if meta.get("trigger") is not None:
        try:
            trigger = parse_trigger(meta["trigger"])
        except TriggerError as exc:
            raise TipError(str(exc)) from None
    priority = str(meta.get("priority", "normal")).strip().lower()
    if priority not in PRIORITIES:
        raise TipError(f"priority '{priority}': expected one of {', '.join(PRIORITIES)}")
    category = _text(meta.get("category")) or (feature.split(".")[0] if feature else None)
    category = category or next(iter(tags), None) or "general"
    return Tip(
        id=doc_id, title=title, value=_text(meta.get("value")), feature=feature, level=level,
        audience=audience, url=url, locale=locale, trigger=trigger,
        adoption=_adoption(meta.get("adoption"), feature), plans=_plans(meta.get("plans")),
        category=category.lower(), priority=priority,
    )


def tip_steps(body: str) -> tuple[str, list[str]]:
    """A tip's body split into its lead paragraph(s) and its numbered steps."""
    lead: list[str] = []
    steps: list[str] = []
    for line in body.splitlines():
        if match := _STEP.match(line):
            steps.append(match.group(1).strip())
        elif steps and line.startswith((" ", "\t")) and line.strip():
            steps[-1] += " " + line.strip()  # a step's wrapped continuation
        elif not steps and line.strip():
            lead.append(line.strip())
    return " ".join(lead), steps


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value).strip() or None
    raise TipError(f"expected text, got {type(value).__name__}")


def _adoption(value: Any, feature: str | None) -> tuple[str, str | None] | None:
    if value is None:
        return ("feature_used", feature) if feature else None
    text = _text(value)
    if text is None:
        return None
    kind, sep, subject = (part.strip() for part in text.partition(":"))
    if not sep:  # a bare name: an event type, else a feature
        return (kind, None) if kind in EVENT_TYPES else ("feature_used", kind)
    if kind not in EVENT_TYPES or not subject:
        raise TipError(
            f"adoption {text!r}: write 'feature_used: <feature>', an event type, or a feature"
        )
    return kind, subject


def _plans(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        items = [p for p in value.split(",")]
    elif isinstance(value, list) and all(isinstance(p, str) for p in value):
        items = value
    else:
        raise TipError("plans must be a list of plan names or a comma-separated string")
    return frozenset(p.strip().lower() for p in items if p.strip())
