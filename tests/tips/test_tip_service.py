"""``TipService`` on SQLite and PostgreSQL: what it records, once, and per tenant."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assistant.access.tenant_config import TenantConfigs
from assistant.events.log import EventLog
from assistant.events.model import Event
from assistant.storage.database import open_database
from assistant.tips.delivery import holdout_bucket
from assistant.tips.service import TipService
from ingest.sync import sync_path

NOW = datetime.now(UTC).replace(microsecond=0)
SWAP = "tips/swap-shifts.md"


@pytest.fixture
def service(knowledge, mini_kb: Path, tmp_path: Path, database_url: str | None
            ) -> Iterator[tuple[TipService, EventLog]]:
    assert sync_path(knowledge, "mini", mini_kb).ok
    events_db = open_database(database_url, tmp_path, "learnloop.sqlite")
    access_db = open_database(database_url, tmp_path, "access.sqlite")
    log = EventLog(events_db)
    yield TipService(knowledge, log, TenantConfigs(access_db)), log
    events_db.close()
    access_db.close()


def seen_user(prefix: str = "u") -> str:
    """A user outside the default 10 % holdout."""
    return next(f"{prefix}{i}" for i in range(1000)
                if holdout_bucket("default", f"{prefix}{i}") >= 10)


def cover_requests(log: EventLog, user: str, tenant: str = "default") -> None:
    log.append(tenant, [
        Event(f"{user}-c{i}", "feature_used", "acme", user, NOW - timedelta(hours=3 - i),
              {"feature": "shift.cover_requested_in_chat"})
        for i in range(2)
    ])


def test_the_service_records_eligibility_and_the_show_once(service):
    tips, log = service
    user = seen_user()
    cover_requests(log, user)
    first = tips.next_tip("default", "mini", user_id=user, account_id="acme", session_id="s1",
                          now=NOW)
    assert first["tip"]["id"] == SWAP and first["tip"]["value"].startswith("finds a cover")
    assert first["tip"]["steps"][0].startswith("Open the shift in **My schedule**")
    for minutes in (1, 2):
        tips.next_tip("default", "mini", user_id=user, account_id="acme", session_id="s1",
                      now=NOW + timedelta(minutes=minutes))
    kinds = [r.type for r in log.rows("default", user_id=user) if r.type.startswith("tip_")]
    assert kinds == ["tip_eligible", "tip_shown"]


def test_concurrent_requests_of_one_session_show_the_tip_once(service):
    tips, log = service
    user = seen_user("c")
    cover_requests(log, user)
    results: list[dict] = []

    def ask() -> None:
        results.append(tips.next_tip("default", "mini", user_id=user, account_id="acme",
                                     session_id="s1", now=NOW))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {r["tip"]["id"] for r in results} == {SWAP}
    shows = [r for r in log.rows("default", user_id=user) if r.type == "tip_shown"]
    assert len(shows) == 1


def test_a_dry_run_records_nothing_and_the_tenant_setting_moves_the_holdout(service):
    tips, log = service
    user = seen_user("d")
    cover_requests(log, user)
    before = log.count("default")
    decision = tips.next_tip("default", "mini", user_id=user, account_id="acme",
                             session_id="s1", now=NOW, record=False)
    assert decision["tip"]["id"] == SWAP and log.count("default") == before
    tips._configs.update("default", tip_holdout_percent=100)
    held = tips.next_tip("default", "mini", user_id=user, account_id="acme", session_id="s1",
                         now=NOW)
    assert held["tip"] is None and held["holdout"] is True
    assert [r.props()["holdout"] for r in log.rows("default", user_id=user)
            if r.type == "tip_eligible"] == [True]
