"""LEARNLOOP_CHROMA_URL: the same ingest and search against a real Chroma server process."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import free_port, knowledge_with

from assistant.knowledge.base import Knowledge
from assistant.knowledge.retrieval import Retriever
from assistant.settings import Settings
from ingest.sync import sync_path

CHROMA = Path(sys.executable).with_name("chroma")


@pytest.fixture
def chroma_url(tmp_path: Path) -> Iterator[str]:
    if not CHROMA.exists():
        pytest.skip(f"no chroma server command at {CHROMA}")
    port = free_port()
    server = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(tmp_path / "chroma-server"), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("chroma server did not start within 60 s")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


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
