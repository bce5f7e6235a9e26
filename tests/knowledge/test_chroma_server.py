"""LEARNLOOP_CHROMA_URL: the same ingest and search against a real Chroma server process."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import knowledge_with, running_server

from assistant.knowledge.base import Knowledge
from assistant.knowledge.retrieval import Retriever
from assistant.settings import Settings
from evals.serving import chroma_server
from ingest.sync import sync_path

CHROMA = Path(sys.executable).with_name("chroma")


@pytest.fixture
def chroma_url(tmp_path: Path) -> Iterator[str]:
    if not CHROMA.exists():
        pytest.skip(f"no chroma server command at {CHROMA}")
    with chroma_server(tmp_path / "chroma-server") as url:
        yield url


def test_ingest_and_search_through_a_chroma_server(
    chroma_url: str, data_dir: Path, embedders, model_dir: Path, mini_kb: Path
) -> None:
    knowledge: Knowledge = knowledge_with(
        Settings(data_dir=data_dir, chroma_url=chroma_url), embedders, model_dir
    )
    report = sync_path(knowledge, "mini", mini_kb)
    assert report.ok and report.added

    kb = knowledge.get("mini")
    assert not (data_dir / "chroma").exists()  # nothing embedded on local disk
    assert len(kb.store.ids()) == report.chunks_total
    hits = Retriever(knowledge, kb).search("how do I reset my password", k=3, mode="dense")
    assert hits and hits[0].article_id == "articles/reset-your-password.md"

    (mini_kb / "articles" / "reset-your-password.md").unlink()
    again = sync_path(knowledge, "mini", mini_kb)
    assert again.removed == ["articles/reset-your-password.md"]
    assert len(kb.store.ids()) == again.chunks_total
    shutil.rmtree(mini_kb)


# --- several workers against a Chroma server ---------------------------------------------------

QUESTIONS = [
    "how do I reset my password?",
    "can I swap a shift with a teammate?",
    "what is the capital of France?",  # declined in both modes
]
NEW_ARTICLE = """---
title: "Export your timesheet"
feature: timesheets.export
---

Your timesheet can be exported for payroll at the end of each pay period.

## Export a timesheet

1. Open **Timesheets** and pick the pay period.
2. Click **Export** and choose CSV or PDF.
3. Send the file to your payroll team.
"""


def _answer(body: dict) -> tuple[str, tuple[str, ...], bool]:
    return body["answer"], tuple(c["article_id"] for c in body["citations"]), body["answered"]


@pytest.mark.slow
def test_two_workers_on_a_chroma_server_answer_like_embedded_mode_and_follow_ingests(
    chroma_url: str, data_dir: Path, tmp_path: Path, embedders, model_dir: Path, mini_kb: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from assistant.services import Services

    # The embedded mode's answers: one process, Chroma on local disk.
    embedded = Settings(data_dir=tmp_path / "embedded")
    alone = knowledge_with(embedded, embedders, model_dir)
    assert sync_path(alone, "mini", mini_kb).ok
    answerer = Services(embedded, knowledge=alone).answerers.for_kb(alone.get("mini"))
    expected = {q: _answer(answerer.answer(q).as_dict()) for q in QUESTIONS}
    assert expected[QUESTIONS[0]][2] and not expected[QUESTIONS[2]][2]

    # This process ingests into the server; two worker processes answer from it.
    shared = knowledge_with(Settings(data_dir=data_dir, chroma_url=chroma_url), embedders,
                            model_dir)
    assert sync_path(shared, "mini", mini_kb).ok
    env = {"LEARNLOOP_CHROMA_URL": chroma_url}
    with running_server(data_dir, tmp_path, workers=2, env=env) as base, \
            httpx.Client(base_url=base, timeout=60) as client, ThreadPoolExecutor(4) as pool:

        def ask(question: str) -> tuple[str, tuple[str, ...], bool]:
            reply = client.post("/v1/chat", json={"question": question, "kb": "mini"})
            assert reply.status_code == 200, reply.text
            return _answer(reply.json())

        for question in QUESTIONS:  # concurrently, so both workers take some
            assert set(pool.map(ask, [question] * 6)) == {expected[question]}

        # A new article ingested while the workers run is answered by every worker at once.
        new = "articles/export-your-timesheet.md"
        (mini_kb / new).write_text(NEW_ARTICLE)
        assert sync_path(shared, "mini", mini_kb).added == [new]
        answers = list(pool.map(ask, ["how do I export my timesheet?"] * 8))
        assert all(answered and cited[:1] == (new,) for _, cited, answered in answers), answers
    log = (tmp_path / "server.log").read_text()
    assert log.count("Started server process") == 2, log
