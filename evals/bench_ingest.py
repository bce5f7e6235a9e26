"""Benchmark: ingest a help center from scratch, then re-ingest with no change.

Runs the real CLI in fresh processes, as a user would, and reports wall-clock seconds
(median of --runs). The ONNX export of the bundled model is made once beforehand and
reused (it is a one-time cost per data directory, reported separately).

    python evals/bench_ingest.py [--corpus DIR] [--runs 3] [--embedder minilm-torch]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "plausible-docs" / "docs"


def _ingest(data: Path, corpus: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.cli.main",
            "ingest",
            str(corpus),
            "--kb",
            "bench",
            "--base-url",
            "https://plausible.io/docs/",
            "--json",
        ],
        check=True,
        env={**env, "LEARNLOOP_DATA_DIR": str(data)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--embedder", default=None, help="LEARNLOOP_EMBEDDER to use.")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNLOOP_")}
    if args.embedder:
        env["LEARNLOOP_EMBEDDER"] = args.embedder
    work = Path(tempfile.mkdtemp(prefix="learnloop-bench-"))
    try:
        cold = work / "cold"
        export_and_ingest = _ingest(cold, args.corpus, env)
        scratch, nochange = [], []
        for run in range(args.runs):
            data = work / f"run{run}"
            if (cold / "models").exists():  # the PyTorch backend exports nothing
                shutil.copytree(cold / "models", data / "models")
            scratch.append(_ingest(data, args.corpus, env))
            nochange.append(_ingest(data, args.corpus, env))
        print(f"corpus: {args.corpus} ({sum(1 for _ in args.corpus.rglob('*.md'))} files)")
        print(f"embedder: {args.embedder or 'default'}")
        print(f"first ingest incl. one-time ONNX export: {export_and_ingest:.1f} s")
        print(
            f"from scratch (model export cached), median of {args.runs}: "
            f"{statistics.median(scratch):.1f} s  (runs: {', '.join(f'{s:.1f}' for s in scratch)})"
        )
        runs = ", ".join(f"{s:.1f}" for s in nochange)
        print(
            f"no-change re-ingest, median of {args.runs}: "
            f"{statistics.median(nochange):.1f} s  (runs: {runs})"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
