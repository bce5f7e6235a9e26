"""Shared fixtures. Every part is real: the bundled MiniLM (ONNX, the default backend),
multilingual USE, Chroma on disk, SQLite and BM25.

What the session shares is only what is expensive and never written by a test: the ONNX
export of the model, the loaded embedders, and one ingested copy of the sample knowledge base
(``knowledge/``). Everything else (data dirs, Chroma directories, knowledge files a test
edits) lives under the test's own ``tmp_path``.
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from assistant.knowledge.base import Knowledge
from assistant.models.embeddings import (
    OnnxMiniLMEmbedder,
    UseEmbedder,
    WordPieceCounter,
    export_onnx,
)
from assistant.models.pair_judge import OnnxPairJudge, serving_judge
from assistant.settings import Settings
from ingest.sync import sync_path

# Tests live in tests/<package>/; these name the places they read from whatever their depth.
TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
FIXTURES = TESTS / "fixtures"
# Dev-mode apps answer only loopback Host headers (DNS-rebinding guard); TestClient's
# default host, "testserver", is not one.
LOOPBACK = "http://127.0.0.1"
MINI_KB = FIXTURES / "mini_kb"
SAMPLE_KB = REPO / "knowledge"
SAMPLE_BASE_URL = "https://help.tasklane.example/"
# The team's shared folder beside the checkout (or where it lives on these machines, for a
# clone made elsewhere, such as CI's): real help-center corpora and red-team data.
SHARED = next(
    (p for p in (REPO.parent / "shared", Path("/work/shared")) if p.is_dir()),
    REPO.parent / "shared",
)
PLAUSIBLE_DOCS = SHARED / "corpora" / "plausible-docs" / "docs"

needs_plausible = pytest.mark.skipif(
    not PLAUSIBLE_DOCS.is_dir(),
    reason=f"the Plausible help center corpus is not checked out at {PLAUSIBLE_DOCS}",
)


def clear_learnloop_env(mp: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("LEARNLOOP_"):
            mp.delenv(name)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No LEARNLOOP_* setting leaks in from the shell; anything the app writes lands in tmp."""
    clear_learnloop_env(monkeypatch)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("LEARNLOOP_DATA_DIR", str(data_dir))
    return data_dir


# --- the models, once per session ---------------------------------------------------------


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ONNX exports of the bundled MiniLM (the default embedder) and of the pair judge,
    built once (about 5 s and 20 s)."""
    directory = tmp_path_factory.mktemp("models")
    export_onnx(directory, quantized=False)
    serving_judge(directory)
    return directory


@pytest.fixture(scope="session")
def embedders(model_dir: Path) -> tuple[OnnxMiniLMEmbedder, UseEmbedder]:
    return OnnxMiniLMEmbedder(model_dir, quantized=False), UseEmbedder()


@pytest.fixture(scope="session")
def word_pieces() -> WordPieceCounter:
    return WordPieceCounter()


def link_models(data_dir: Path, model_dir: Path) -> None:
    """Point ``data_dir/models`` at the session export, so a CLI or server run skips the export."""
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / "models"
    if not target.exists():
        target.symlink_to(model_dir, target_is_directory=True)


def knowledge_with(settings: Settings, embedders: tuple[OnnxMiniLMEmbedder, UseEmbedder],
                   model_dir: Path) -> Knowledge:
    """A real ``Knowledge`` on ``settings.data_dir`` that reuses the session's loaded models."""
    link_models(settings.data_dir, model_dir)
    knowledge = Knowledge(settings)
    knowledge.__dict__["embedder"], knowledge.__dict__["gist_embedder"] = embedders
    knowledge.__dict__["pair_judge"] = _served_judge(model_dir)
    return knowledge


@functools.lru_cache(maxsize=1)
def _served_judge(model_dir: Path) -> OnnxPairJudge:
    return serving_judge(model_dir)


# --- tiers --------------------------------------------------------------------------------------

# A test that reaches any of these (directly or through its fixtures) uses real parts: the
# bundled models, a data directory with Chroma, PostgreSQL.
REAL_PARTS = frozenset({"model_dir", "embedders", "postgres_url", "database_url"})
BROWSER_MODULES = frozenset({"test_chat_page", "test_dashboard", "test_widget"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its tier, from what it uses: ``browser`` (headless Chromium),
    ``integration`` (real models, stores, servers) or ``unit`` (nothing but the code):
    ``pytest -m unit`` runs the fast tier alone."""
    for item in items:
        # The module's own name, whatever folder of tests/ it sits in (and any import mode).
        module = ""
        if isinstance(item, pytest.Function):
            module = item.module.__name__.rpartition(".")[2]
        if module in BROWSER_MODULES:
            item.add_marker(pytest.mark.browser)
        elif REAL_PARTS & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
        else:
            item.add_marker(pytest.mark.unit)


# --- per test -----------------------------------------------------------------------------


@pytest.fixture
def data_dir(isolated_env: Path, model_dir: Path) -> Path:
    """This test's LEARNLOOP_DATA_DIR, with the session model export linked in."""
    link_models(isolated_env, model_dir)
    return isolated_env


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return Settings()


@pytest.fixture
def knowledge(settings: Settings, embedders, model_dir: Path) -> Knowledge:
    return knowledge_with(settings, embedders, model_dir)


@pytest.fixture
def mini_kb(tmp_path: Path) -> Path:
    """A writable copy of tests/fixtures/mini_kb (six small documents in four formats)."""
    return Path(shutil.copytree(MINI_KB, tmp_path / "mini_kb"))


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


# --- the sample knowledge base, ingested once -----------------------------------------------


@pytest.fixture(scope="session")
def sample_knowledge(
    tmp_path_factory: pytest.TempPathFactory, embedders, model_dir: Path
) -> Iterator[Knowledge]:
    """``knowledge/`` ingested as KB 'sample' (read-only for tests: do not write to it)."""
    with pytest.MonkeyPatch.context() as mp:
        clear_learnloop_env(mp)
        settings = Settings(data_dir=tmp_path_factory.mktemp("sample-data"))
    knowledge = knowledge_with(settings, embedders, model_dir)
    report = sync_path(knowledge, "sample", SAMPLE_KB, base_url=SAMPLE_BASE_URL)
    assert report.ok, report.failed
    yield knowledge


# --- a real PostgreSQL database, created for the test and dropped after ---------------------

POSTGRES_SERVER = os.environ.get("LEARNLOOP_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty database on the machine's PostgreSQL server (``.ci/run`` starts it)."""
    import uuid

    import psycopg

    name = f"learnloop_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_SERVER}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{POSTGRES_SERVER}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """Run the test once on SQLite files (None: the default) and once on a fresh PostgreSQL
    database (its URL), as ``LEARNLOOP_DATABASE_URL`` would choose."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return None


# --- the real server --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def learnloop_command() -> list[str]:
    script = Path(sys.executable).with_name("learnloop")
    return [str(script)] if script.exists() else [sys.executable, "-m", "assistant.cli.main"]


@contextmanager
def running_server(
    data_dir: Path, tmp_path: Path, dev: bool = True, workers: int = 1,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """`learnloop serve` in its own process on a free port; yields its base URL once healthy.
    ``dev``: no credentials needed (the default tenant); ``env``: more environment."""
    port = free_port()
    log_path = tmp_path / "server.log"
    log = log_path.open("w")
    server = subprocess.Popen(
        [*learnloop_command(), "serve", *(["--dev"] if dev else []), "--port", str(port),
         "--workers", str(workers)],
        env={**os.environ, "LEARNLOOP_DATA_DIR": str(data_dir), **(env or {})},
        stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, log_path.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server never became healthy"
            time.sleep(0.3)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
