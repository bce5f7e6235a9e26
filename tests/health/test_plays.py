"""The play rules on hand-built facts: each play's trigger and its boundaries, the steps and
evidence it carries, and the tenant's settings (disabled plays, launched features,
thresholds)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assistant.access.tenant_config import PlaysConfig
from assistant.health.plays import MissingStep, PlayFacts, choose_plays

# A settled, casual, unremarkable account: no play fits it.
QUIET = PlayFacts(
    account_id="acme", segment="casual", maturity="growing", tenure_days=60, score=70,
    path_steps_done=4, path_steps_due=5.0, features_30=frozenset({"tasks.create"}),
    features_ever=("tasks.create",), days_since_login=2, last_login_user="ana",
    days_since_event=1, active_users_30=3, active_days_per_user=4.0, admins=("ana",),
)


def names(facts: PlayFacts, config: PlaysConfig | None = None) -> list[str]:
    return [p.play for p in choose_plays(facts, config)]


def play(facts: PlayFacts, name: str, config: PlaysConfig | None = None):
    return next(p for p in choose_plays(facts, config) if p.play == name)


def test_an_unremarkable_account_gets_no_play():
    assert choose_plays(QUIET) == []


# --- activation ------------------------------------------------------------------------------

NEW = replace(
    QUIET, maturity="new", tenure_days=12, path_steps_done=1, path_steps_due=4.0,
    missing_steps=(
        MissingStep("Invite your team", "week1", "members.invite", "Invite your team", True),
        MissingStep("Connect Slack", "month1", "integrations.slack", "Connect to Slack"),
    ),
    guides={"members.invite": "Invite your team"},
)


def test_activation_for_a_new_account_behind_its_milestones():
    p = play(NEW, "activation")
    # 1 of 4.0 due = 25 % < 60 %
    assert p.why == ("New account behind its onboarding milestones: 1 of 4.0 path steps due "
                     "by day 12 done (25%, target 60%).")
    assert "key features not adopted: members.invite" in p.evidence
    assert "steps not done: 'Invite your team' (week1, overdue); 'Connect Slack' (month1)" \
        in p.evidence
    assert p.steps == [
        "Book a 30-minute onboarding call with ana this week and walk through "
        "'Invite your team' together.",
        "Send 'Invite your team' to the users who have not used members.invite yet.",
        "Check path progress again on day 19: aim for 60% of the due steps done.",
    ]


@pytest.mark.parametrize(("done", "overdue_used", "fires"), [
    (3, True, False),    # 3 / 4.0 = 75 % and the overdue feature is in use: on track
    (2, True, True),     # 50 % < 60 %
    (3, False, True),    # on pace, but a key feature of an overdue step was never used
])
def test_activation_boundaries(done, overdue_used, fires):
    facts = replace(NEW, path_steps_done=done,
                    features_ever=("members.invite",) if overdue_used else ())
    assert ("activation" in names(facts)) is fires


def test_activation_is_for_new_accounts_only_and_follows_the_threshold():
    assert "activation" not in names(replace(NEW, maturity="growing", tenure_days=40))
    relaxed = PlaysConfig(activation_min_progress=20)
    on_pace = replace(NEW, features_ever=("members.invite",))  # 25 % >= 20 %
    assert "activation" not in names(on_pace, relaxed)
    assert "activation" in names(on_pace)


# --- dormant win-back ------------------------------------------------------------------------


@pytest.mark.parametrize(("segment", "login_days", "fires"), [
    ("casual", 13, False), ("at_risk", 14, True), ("dormant", 3, True), ("casual", None, True),
])
def test_dormant_win_back_boundaries(segment, login_days, fires):
    facts = replace(QUIET, segment=segment, days_since_login=login_days,
                    last_login_user=None if login_days is None else "ana")
    assert ("dormant_win_back" in names(facts)) is fires


def test_dormant_win_back_evidence_and_steps():
    facts = replace(QUIET, segment="dormant", days_since_login=41, last_login_user="ben",
                    days_since_event=35, features_ever=("export.run", "tasks.create"),
                    renewal_days=45)
    p = play(facts, "dormant_win_back")
    assert p.why == ("Dormant: nobody in the account has done anything for 30 days (last "
                     "login 41 days ago by ben).")
    assert p.evidence == ["segment: dormant", "last login 41 days ago by ben",
                          "last event of any kind 35 days ago",
                          "features they used, latest first: export.run, tasks.create",
                          "renewal in 45 days"]
    assert p.steps[0].startswith("Write to ben personally")
    assert "export.run, tasks.create" in p.steps[1]
    assert p.steps[2].startswith("Renewal in 45 days: bring in the account executive")


def test_win_back_days_are_configurable_and_a_young_account_without_logins_waits():
    facts = replace(QUIET, days_since_login=10)
    assert "dormant_win_back" in names(facts, PlaysConfig(win_back_days=10))
    assert "dormant_win_back" not in names(facts, PlaysConfig(win_back_days=11))
    never = replace(QUIET, maturity="new", tenure_days=5, days_since_login=None)
    assert "dormant_win_back" not in names(never)


# --- feature launch ----------------------------------------------------------------------------

LAUNCH = PlaysConfig(launch_features={"reports.schedule": ["dashboards.create"],
                                      "views.timeline": []})


def test_feature_launch_for_accounts_that_read_asked_or_have_the_prerequisite():
    facts = replace(QUIET, reads_30={"reports.schedule": 3}, asks_90={"views.timeline": 2},
                    features_30=frozenset({"tasks.create", "dashboards.create"}),
                    guides={"reports.schedule": "Schedule reports"})
    p = play(facts, "feature_launch", LAUNCH)
    assert p.why == ("Would use the newly launched reports.schedule, views.timeline but does "
                     "not yet.")
    assert p.evidence == [
        "reports.schedule: launched, not used in 30 d; read about it 3× in 30 d; uses its "
        "prerequisite dashboards.create",
        "views.timeline: launched, not used in 30 d; named in 2 questions or tickets in 90 d",
    ]
    assert p.steps == [
        "Send 'Schedule reports' to the users who read or asked about reports.schedule.",
        "Offer a 15-minute demo of reports.schedule built on their use of dashboards.create.",
        "Send a short note on views.timeline to the users who read or asked about "
        "views.timeline.",
        "Check in 14 days whether the feature shows up in their usage.",
    ]


def test_feature_launch_needs_a_launch_interest_and_no_use():
    curious = replace(QUIET, reads_30={"reports.schedule": 1})
    assert "feature_launch" not in names(curious)              # nothing launched
    assert "feature_launch" in names(curious, LAUNCH)
    using = replace(curious, features_30=frozenset({"reports.schedule"}))
    assert "feature_launch" not in names(using, LAUNCH)
    assert "feature_launch" not in names(replace(QUIET, reads_30={"tags.apply": 4}), LAUNCH)
    prerequisite_only = replace(QUIET, features_30=frozenset({"dashboards.create"}))
    assert play(prerequisite_only, "feature_launch", LAUNCH).steps[0] == (
        "Send a short note on reports.schedule to the users of dashboards.create.")


# --- power user ------------------------------------------------------------------------------

POWER = replace(QUIET, segment="power", maturity="mature", tenure_days=300, score=88,
                active_days_per_user=14.5, promoters=("cleo",),
                features_30=frozenset({f"f{i}" for i in range(7)}))


def test_power_user_for_a_mature_healthy_power_account():
    p = play(POWER, "power_user", LAUNCH)
    assert p.evidence == [
        "segment: power (14.5 active days per active user, 7 features in 30 d)",
        "maturity: mature (day 300)", "health score 88 (from 80)",
        "NPS promoters (9-10): cleo"]
    assert p.steps[0] == "Ask cleo for a case study, a public review or a reference call."
    assert p.steps[1] == "Invite them to the beta of reports.schedule, views.timeline."


@pytest.mark.parametrize("change", [
    {"score": 79}, {"maturity": "growing"}, {"segment": "casual"},
    {"signals": ("nps_detractor",)},
])
def test_power_user_boundaries(change):
    assert "power_user" in names(replace(POWER, score=80))
    assert "power_user" not in names(replace(POWER, **change))


# --- the tenant's settings ---------------------------------------------------------------------


def test_plays_come_in_order_and_disabled_ones_are_never_named():
    facts = replace(NEW, segment="dormant", days_since_login=20, reads_30={"views.timeline": 2})
    assert names(facts, LAUNCH) == ["activation", "dormant_win_back", "feature_launch"]
    quieter = LAUNCH.model_copy(update={"disabled": ["dormant_win_back"]})
    assert names(facts, quieter) == ["activation", "feature_launch"]
    assert all(p.as_dict().keys() == {"play", "why", "steps", "evidence"}
               for p in choose_plays(facts, LAUNCH))
