"""``learnloop demo seed`` tells a story in which every health signal and every play shows on
some account, scored through the real health service with the default tenant's settings."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from assistant.access.tenant_config import PLAY_NAMES
from assistant.cli.demo import seed_demo
from assistant.health.scoring import SIGNAL_CODES, AccountHealth
from assistant.knowledge.base import Knowledge
from assistant.services import Services

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def healths(sample_knowledge: Knowledge, tmp_path_factory: pytest.TempPathFactory
            ) -> list[AccountHealth]:
    data_dir: Path = tmp_path_factory.mktemp("demo-seed")
    settings = sample_knowledge.settings.model_copy(
        update={"data_dir": data_dir, "database_url": None}
    )
    services = Services(settings, knowledge=sample_knowledge, clock=lambda: NOW)
    try:
        seed_demo(replace(services.chat, learning=None), "sample", NOW,
                  configs=services.tenant_configs)
        return services.health.recompute("default", NOW)
    finally:
        services.close()


def test_every_signal_code_shows_on_some_demo_account(healths):
    shown = {s.code for h in healths for s in h.signals}
    assert shown == set(SIGNAL_CODES), sorted(set(SIGNAL_CODES) - shown)


def test_every_play_shows_on_some_demo_account(healths):
    shown = {p.play for h in healths for p in h.plays}
    assert shown == set(PLAY_NAMES), sorted(set(PLAY_NAMES) - shown)
    for health in healths:
        for play in health.plays:
            assert play.why and play.steps and play.evidence, (health.account_id, play)
