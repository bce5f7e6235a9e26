"""Customer-success plays (DESIGN "Playbooks"): what to do about an account, chosen from its
segment, maturity, signals and a few facts of its engagement. Pure: ``choose_plays(facts,
config)`` with ``PlayFacts`` built by scoring (or by hand in a test) and the tenant's
``PlaysConfig``; no clock, no I/O.

Rules (thresholds from ``PlaysConfig``, defaults in brackets):

- ``activation``: a ``new`` account behind its milestones: the share of path steps due by
  its tenure that are done is below ``activation_min_progress`` [60 %], or a step whose
  window has passed is not done and its feature was never used (a key feature not adopted)
- ``dormant_win_back``: segment ``dormant``, or no login for ``win_back_days`` [14] (or none
  ever, once the account is that old)
- ``feature_launch``: per launched feature the account has not used in 30 days, and that it
  read about (30 d), asked about (questions and tickets, 90 d) or whose prerequisite it uses
  (30 d)
- ``power_user``: segment ``power``, maturity ``mature``, score from
  ``power_user_min_score`` [80], and no ``nps_detractor`` signal (advocacy is not asked of
  an unhappy account)

Plays come in ``PLAY_NAMES`` order; a play the tenant disabled is never named.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from assistant.access.tenant_config import PLAY_NAMES, PlayName, PlaysConfig

__all__ = ["PLAY_NAMES", "MissingStep", "Play", "PlayFacts", "choose_plays"]

LIST_LIMIT = 5        # features, steps or users named in one line
STEP_FEATURES = 3     # features a play's steps name one by one


@dataclass(frozen=True)
class MissingStep:
    """A learning-path step partly or fully due by the account's tenure and not done."""

    title: str
    stage: str
    feature: str | None = None
    guide: str | None = None       # title of the material that teaches it
    overdue: bool = False          # its stage window has passed


@dataclass(frozen=True)
class PlayFacts:
    """What the play rules read about one account (windows end at the scoring moment)."""

    account_id: str
    segment: str
    maturity: str
    tenure_days: int
    score: int
    signals: tuple[str, ...] = ()
    path_steps_done: int = 0
    path_steps_due: float = 0.0
    missing_steps: tuple[MissingStep, ...] = ()
    features_30: frozenset[str] = frozenset()
    features_ever: tuple[str, ...] = ()               # most recently used first
    reads_30: Mapping[str, int] = field(default_factory=dict)   # feature → reads of its guides
    asks_90: Mapping[str, int] = field(default_factory=dict)    # feature → questions, tickets
    days_since_login: int | None = None               # None: nobody ever logged in
    last_login_user: str | None = None
    days_since_event: int | None = None
    active_users_30: int = 0
    active_days_per_user: float = 0.0
    admins: tuple[str, ...] = ()
    promoters: tuple[str, ...] = ()                   # latest NPS 9 or 10
    renewal_days: int | None = None
    guides: Mapping[str, str] = field(default_factory=dict)     # feature → a guide's title


@dataclass(frozen=True)
class Play:
    play: PlayName
    why: str
    steps: list[str]
    evidence: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"play": self.play, "why": self.why, "steps": self.steps,
                "evidence": self.evidence}


def choose_plays(facts: PlayFacts, config: PlaysConfig | None = None) -> list[Play]:
    config = config or PlaysConfig()
    rules = {
        "activation": _activation,
        "dormant_win_back": _dormant_win_back,
        "feature_launch": _feature_launch,
        "power_user": _power_user,
    }
    plays = []
    for name in PLAY_NAMES:
        if name in config.disabled:
            continue
        play = rules[name](facts, config)
        if play is not None:
            plays.append(play)
    return plays


def _activation(f: PlayFacts, config: PlaysConfig) -> Play | None:
    if f.maturity != "new":
        return None
    percent = round(100 * f.path_steps_done / f.path_steps_due) if f.path_steps_due > 0 else None
    slow = percent is not None and percent < config.activation_min_progress
    used = set(f.features_ever)
    not_adopted = list(dict.fromkeys(
        s.feature for s in f.missing_steps if s.overdue and s.feature and s.feature not in used
    ))
    if not slow and not not_adopted:
        return None
    progress = (f"{f.path_steps_done} of {f.path_steps_due:.1f} path steps due by day "
                f"{f.tenure_days} done ({percent}%, target {config.activation_min_progress}%)"
                if percent is not None else "no path steps due yet")
    evidence = [f"maturity: new (day {f.tenure_days})", f"path progress: {progress}"]
    if not_adopted:
        evidence.append(f"key features not adopted: {_list(not_adopted)}")
    if f.missing_steps:
        evidence.append("steps not done: " + "; ".join(
            f"'{s.title}' ({s.stage}{', overdue' if s.overdue else ''})"
            for s in f.missing_steps[:LIST_LIMIT]))
    evidence += _signal_lines(f, ("untouched_capability", "low_feature_adoption"))
    contact = f.admins[0] if f.admins else "the account's admin"
    first = f.missing_steps[0].title if f.missing_steps else "their first steps"
    steps = [f"Book a 30-minute onboarding call with {contact} this week and walk through "
             f"'{first}' together."]
    for feature in not_adopted[:STEP_FEATURES]:
        guide = f.guides.get(feature)
        steps.append(f"Send '{guide}' to the users who have not used {feature} yet."
                     if guide else f"Show {feature} in the call; nobody has used it yet.")
    steps.append(f"Check path progress again on day {f.tenure_days + 7}: aim for "
                 f"{config.activation_min_progress}% of the due steps done.")
    return Play("activation", f"New account behind its onboarding milestones: {progress}.",
                steps, evidence)


def _dormant_win_back(f: PlayFacts, config: PlaysConfig) -> Play | None:
    days = config.win_back_days
    quiet = (f.days_since_login >= days if f.days_since_login is not None
             else f.tenure_days >= days)
    if f.segment != "dormant" and not quiet:
        return None
    if f.days_since_login is not None:
        login = (f"last login {_days(f.days_since_login)} ago"
                 + (f" by {f.last_login_user}" if f.last_login_user else ""))
    else:
        login = "no login ever recorded"
    evidence = [f"segment: {f.segment.replace('_', ' ')}", login]
    if f.days_since_event is not None:
        evidence.append(f"last event of any kind {_days(f.days_since_event)} ago")
    if f.features_ever:
        evidence.append(f"features they used, latest first: {_list(f.features_ever)}")
    if f.renewal_days is not None and f.renewal_days >= 0:
        evidence.append(f"renewal in {_days(f.renewal_days)}")
    contact = f.last_login_user or (f.admins[0] if f.admins else "the account's admin")
    steps = [f"Write to {contact} personally: ask what changed and offer a 20-minute "
             "re-onboarding call."]
    if f.features_ever:
        steps.append(f"Lead with what they relied on ({_list(f.features_ever[:3])}): show "
                     "what is new there and one shortcut they missed.")
    if f.renewal_days is not None and 0 <= f.renewal_days <= 90:
        steps.append(f"Renewal in {_days(f.renewal_days)}: bring in the account executive and "
                     "agree a save plan now.")
    else:
        steps.append("No answer within a week: call the admin or the executive sponsor.")
    why = ("Dormant: nobody in the account has done anything for 30 days"
           if f.segment == "dormant" else f"Nobody has logged in for {days}+ days")
    return Play("dormant_win_back", f"{why} ({login}).", steps, evidence)


def _feature_launch(f: PlayFacts, config: PlaysConfig) -> Play | None:
    fits: list[tuple[str, list[str], bool, list[str]]] = []
    for feature, prerequisites in config.launch_features.items():
        if feature in f.features_30:
            continue
        reasons = []
        if f.reads_30.get(feature):
            reasons.append(f"read about it {f.reads_30[feature]}× in 30 d")
        if f.asks_90.get(feature):
            reasons.append(f"named in {f.asks_90[feature]} questions or tickets in 90 d")
        uses = [p for p in prerequisites if p in f.features_30]
        if uses:
            reasons.append(f"uses its prerequisite {_list(uses)}")
        if reasons:
            curious = bool(f.reads_30.get(feature) or f.asks_90.get(feature))
            fits.append((feature, reasons, curious, uses))
    if not fits:
        return None
    evidence = [f"{feature}: launched, not used in 30 d; " + "; ".join(reasons)
                for feature, reasons, _, _ in fits]
    steps = []
    for feature, _, curious, uses in fits[:STEP_FEATURES]:
        guide = f.guides.get(feature)
        what = f"'{guide}'" if guide else f"a short note on {feature}"
        who = (f"the users who read or asked about {feature}" if curious
               else f"the users of {_list(uses)}")
        steps.append(f"Send {what} to {who}.")
        if uses:
            steps.append(f"Offer a 15-minute demo of {feature} built on their use of "
                         f"{_list(uses)}.")
    steps.append("Check in 14 days whether the feature shows up in their usage.")
    features = [feature for feature, _, _, _ in fits]
    return Play("feature_launch",
                f"Would use the newly launched {_list(features)} but does not yet.",
                steps, evidence)


def _power_user(f: PlayFacts, config: PlaysConfig) -> Play | None:
    if (f.segment != "power" or f.maturity != "mature"
            or f.score < config.power_user_min_score or "nps_detractor" in f.signals):
        return None
    evidence = [
        f"segment: power ({f.active_days_per_user:.1f} active days per active user, "
        f"{len(f.features_30)} features in 30 d)",
        f"maturity: mature (day {f.tenure_days})",
        f"health score {f.score} (from {config.power_user_min_score})",
    ]
    if f.promoters:
        evidence.append(f"NPS promoters (9-10): {_list(f.promoters)}")
    champion = (f.promoters or f.admins or ("their admin",))[0]
    launches = [x for x in config.launch_features if x not in f.features_30]
    steps = [f"Ask {champion} for a case study, a public review or a reference call.",
             f"Invite them to the beta of {_list(launches)}." if launches else
             "Invite them to the beta programme for the next release.",
             "Nominate their champions for the customer advisory board or user group."]
    return Play("power_user",
                f"A mature power account with health {f.score}: ask for advocacy and "
                "early feedback.", steps, evidence)


def _signal_lines(f: PlayFacts, codes: tuple[str, ...]) -> list[str]:
    present = [c for c in codes if c in f.signals]
    return [f"signals: {', '.join(present)}"] if present else []


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def _list(items: Any, limit: int = LIST_LIMIT) -> str:
    names = list(items)
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
