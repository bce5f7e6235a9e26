"""A real ``learnloop serve --dev`` in a scratch data directory, for the benchmarks."""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

__all__ = [
    "chroma_server",
    "free_port",
    "learnloop",
    "percentile",
    "report_latencies",
    "scratch_env",
    "serving",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report_latencies(what: str, latencies: list[float]) -> None:
    print(f"{what}: {len(latencies)} requests")
    print(
        f"p50 {statistics.median(latencies):.1f} ms  p95 {percentile(latencies, 0.95):.1f} ms"
        f"  p99 {percentile(latencies, 0.99):.1f} ms  max {max(latencies):.1f} ms"
    )


@contextmanager
def scratch_env(**settings: str) -> Iterator[dict[str, str]]:
    """An environment with a fresh LEARNLOOP_DATA_DIR (removed after) and no other
    LEARNLOOP_ settings from the caller's shell, plus ``settings``."""
    data = Path(tempfile.mkdtemp(prefix="learnloop-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNLOOP_")}
    env["LEARNLOOP_DATA_DIR"] = str(data)
    env.update({f"LEARNLOOP_{k.upper()}": v for k, v in settings.items()})
    try:
        yield env
    finally:
        shutil.rmtree(data, ignore_errors=True)


def learnloop(env: dict[str, str], *args: str) -> None:
    """Run a ``learnloop`` command to completion (quietly)."""
    subprocess.run(
        [sys.executable, "-m", "assistant.cli.main", *args],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def chroma_server(path: Path) -> Iterator[str]:
    """``chroma run`` (the chromadb package's own server) on a free port; yields its URL."""
    port = free_port()
    command = Path(sys.executable).with_name("chroma")
    server = subprocess.Popen(
        [str(command), "run", "--path", str(path), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until(
            lambda: httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200,
            server, 60, "the Chroma server did not start",
        )
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@contextmanager
def serving(env: dict[str, str], workers: int = 1) -> Iterator[httpx.Client]:
    """The server on a free loopback port; yields a client once /healthz answers and every
    worker has started (a worker still loading its models would take requests cold)."""
    port = free_port()
    with tempfile.NamedTemporaryFile("w+", suffix=".log") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli.main", "serve", "--dev", "--port", str(port),
             "--workers", str(workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:

                def ready() -> bool:
                    started = Path(log.name).read_text().count("Application startup complete")
                    return client.get("/healthz").status_code == 200 and started >= workers

                _wait_until(ready, server, 120 * workers, "the server did not become healthy")
                yield client
        finally:
            server.terminate()
            server.wait(timeout=30)


def _wait_until(
    ready: Callable[[], bool], process: subprocess.Popen[bytes], seconds: float, failure: str
) -> None:
    """Poll ``ready`` (a refused connection counts as not ready) until it holds; raise
    ``RuntimeError(failure)`` if ``process`` exits or ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if ready():
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(failure)
        time.sleep(0.2)
