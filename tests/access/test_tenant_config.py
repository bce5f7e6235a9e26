"""A tenant's own settings: defaults, validated updates that never half-apply, the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.access.tenant_config import TenantConfigs
from assistant.cli.main import app as cli_app
from assistant.errors import ErrorCode, LearnloopError
from assistant.storage.database import open_database


@pytest.fixture
def configs(tmp_path: Path, database_url: str | None) -> Iterator[TenantConfigs]:
    database = open_database(database_url, tmp_path, "access.sqlite")
    yield TenantConfigs(database)
    database.close()


def test_a_tenant_that_set_nothing_gets_the_defaults(configs):
    config = configs.get("acme")
    assert config.tip_spacing_days == 2 and config.tip_holdout_percent == 10
    assert config.allowed_origins == [] and config.handoff_webhook is None


def test_updates_are_validated_per_tenant_and_a_bad_value_changes_nothing(configs):
    configs.update("acme", allowed_origins=["https://App.Acme.com/"], tip_holdout_percent=20)
    assert configs.get("acme").allowed_origins == ["https://app.acme.com"]
    assert configs.get("globex").tip_holdout_percent == 10  # another tenant is untouched
    with pytest.raises(LearnloopError) as caught:
        configs.update("acme", tip_holdout_percent=150, tip_spacing_days=5)
    assert caught.value.code == ErrorCode.invalid_input
    assert "tip_holdout_percent" in caught.value.message
    assert configs.get("acme").tip_spacing_days == 2  # the valid half was not applied
    for bad in (["app.acme.com"], ["https://acme.com/widget"], ["javascript:alert(1)"]):
        with pytest.raises(LearnloopError, match="not an origin"):
            configs.update("acme", allowed_origins=bad)
    with pytest.raises(LearnloopError, match="unknown tenant setting"):
        configs.update("acme", tips_enabled=False)


def test_the_cli_updates_and_shows_a_tenants_settings(cli):
    created = cli.invoke(cli_app, ["tenant", "create", "acme"])
    assert created.exit_code == 0, created.output
    result = cli.invoke(cli_app, [
        "tenant", "update", "acme", "--allowed-origin", "https://app.acme.com",
        "--allowed-origin", "http://localhost:3000", "--tip-spacing-days", "3",
        "--track-event", "Report Scheduled=feature:reports.schedule",
    ])
    assert result.exit_code == 0, result.output
    shown = json.loads(cli.invoke(cli_app, ["tenant", "show", "acme"]).output)
    assert shown["allowed_origins"] == ["http://localhost:3000", "https://app.acme.com"]
    assert shown["tip_spacing_days"] == 3
    assert shown["track_events"] == {"Report Scheduled": "feature:reports.schedule"}
    removed = cli.invoke(cli_app, ["tenant", "update", "acme", "--remove-origin",
                                   "http://localhost:3000"])
    assert json.loads(removed.output)["allowed_origins"] == ["https://app.acme.com"]
    bad = cli.invoke(cli_app, ["tenant", "update", "acme", "--tip-holdout-percent", "101"])
    assert bad.exit_code != 0 and "tip_holdout_percent" in bad.output
    missing = cli.invoke(cli_app, ["tenant", "update", "nobody", "--tip-spacing-days", "1"])
    assert missing.exit_code != 0 and "does not exist" in missing.output


def test_plays_settings_have_working_defaults_and_are_validated(configs):
    plays = configs.get("acme").plays
    assert plays.disabled == [] and plays.launch_features == {}
    assert (plays.win_back_days, plays.activation_min_progress, plays.power_user_min_score) == (
        14, 60, 80)
    stored = configs.update("acme", plays={
        "disabled": ["power_user", "activation", "power_user"],
        "launch_features": {"reports.schedule": ["filters.save", "dashboards.create"]},
        "win_back_days": 21,
    }).plays
    assert stored.disabled == ["activation", "power_user"]
    assert stored.launch_features == {"reports.schedule": ["dashboards.create", "filters.save"]}
    assert configs.get("globex").plays.win_back_days == 14  # another tenant is untouched
    for bad, fragment in [
        ({"disabled": ["upsell"]}, "'activation', 'dormant_win_back', 'feature_launch' or "
                                   "'power_user'"),
        ({"launch_features": {"reports schedule": []}}, "is not a feature id"),
        ({"launch_features": {"a.b": ["a.b"]}}, "cannot be its own prerequisite"),
        ({"launch_features": {f"f{i}": [] for i in range(21)}}, "at most 20"),
        ({"win_back_days": 0}, "plays.win_back_days"),
        ({"activation_min_progress": 101}, "plays.activation_min_progress"),
        ({"power_user_min_score": "high"}, "plays.power_user_min_score"),
        ({"upsell_days": 3}, "plays.upsell_days"),
    ]:
        with pytest.raises(LearnloopError) as caught:
            configs.update("acme", plays=bad)
        assert caught.value.code == ErrorCode.invalid_input
        assert fragment in caught.value.message, caught.value.message
    assert configs.get("acme").plays == stored  # nothing of a refused update was stored


def test_the_cli_sets_launched_features_disabled_plays_and_thresholds(cli):
    assert cli.invoke(cli_app, ["tenant", "create", "acme"]).exit_code == 0

    def update(*flags: str):
        return cli.invoke(cli_app, ["tenant", "update", "acme", *flags])

    result = update("--launch-feature", "reports.schedule=dashboards.create,filters.save",
                    "--launch-feature", "views.timeline", "--disable-play", "power_user",
                    "--play-threshold", "win_back_days=21")
    assert result.exit_code == 0, result.output
    plays = json.loads(result.output)["plays"]
    assert plays["launch_features"] == {"reports.schedule": ["dashboards.create", "filters.save"],
                                        "views.timeline": []}
    assert plays["disabled"] == ["power_user"] and plays["win_back_days"] == 21
    result = update("--remove-launch-feature", "views.timeline", "--enable-play", "power_user")
    plays = json.loads(result.output)["plays"]
    assert list(plays["launch_features"]) == ["reports.schedule"] and plays["disabled"] == []
    for flags, fragment in [
        (("--disable-play", "upsell"), "'feature_launch' or 'power_user'"),
        (("--enable-play", "upsell"), "plays are activation, dormant_win_back"),
        (("--play-threshold", "win_back_days=soon"), "NAME=INTEGER"),
        (("--play-threshold", "upsell=3"), "win_back_days, activation_min_progress"),
        (("--launch-feature", "=x"), "is not a feature id"),
    ]:
        bad = update(*flags)
        assert bad.exit_code != 0 and fragment in bad.output, (flags, bad.output)
    shown = json.loads(cli.invoke(cli_app, ["tenant", "show", "acme"]).output)
    assert shown["plays"] == plays
