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
