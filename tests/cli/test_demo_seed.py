"""``learnloop demo seed`` tells a story in which every health signal and every play shows on
some account, scored through the real health service with the default tenant's settings."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from assistant.access.tenant_config import PLAY_NAMES
from assistant.cli.demo import seed_demo
from assistant.health.scoring import SIGNAL_CODES, AccountHealth
from assistant.insights.tip_effectiveness import tips_report
from assistant.knowledge.base import Knowledge
from assistant.services import Services

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def seeded(sample_knowledge: Knowledge, tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[list[AccountHealth], dict[str, Any]]:
    data_dir: Path = tmp_path_factory.mktemp("demo-seed")
    settings = sample_knowledge.settings.model_copy(
        update={"data_dir": data_dir, "database_url": None}
    )
    services = Services(settings, knowledge=sample_knowledge, clock=lambda: NOW)
    try:
        seed_demo(replace(services.chat, learning=None), "sample", NOW,
                  configs=services.tenant_configs)
        tips = tips_report(services.event_log, services.tips.tips("default", "sample"),
                           "default", NOW, days=120)
        return services.health.recompute("default", NOW), tips
    finally:
        services.close()


@pytest.fixture(scope="module")
def healths(seeded: tuple[list[AccountHealth], dict[str, Any]]) -> list[AccountHealth]:
    return seeded[0]


def test_tips_have_shown_dismissed_and_adopted_histories_and_a_holdout(seeded):
    report = seeded[1]["tips"]
    assert len(report) >= 10
    total = {key: sum(t[key] for t in report)
             for key in ("eligible", "eligible_holdout", "shown", "clicked", "dismissed")}
    assert all(total.values()), total
    assert 0.03 < total["eligible_holdout"] / total["eligible"] < 0.2  # about 10 % held out
    adopted = sum(t["adoption"]["shown"]["adopted"] for t in report)
    held_adopted = sum(t["adoption"]["holdout"]["adopted"] for t in report)
    assert adopted > 0 and held_adopted >= 0
    assert any(t["lift"] is not None for t in report)


def test_every_signal_code_shows_on_some_demo_account(healths):
    shown = {s.code for h in healths for s in h.signals}
    assert shown == set(SIGNAL_CODES), sorted(set(SIGNAL_CODES) - shown)


def test_every_play_shows_on_some_demo_account(healths):
    shown = {p.play for h in healths for p in h.plays}
    assert shown == set(PLAY_NAMES), sorted(set(PLAY_NAMES) - shown)
    for health in healths:
        for play in health.plays:
            assert play.why and play.steps and play.evidence, (health.account_id, play)
