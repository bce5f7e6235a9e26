#!/usr/bin/env bash
# Reproduce the retrieval figures of evals/RESULTS.md (ingests both knowledge bases first).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
export LEARNLOOP_DATA_DIR=${LEARNLOOP_DATA_DIR:-data}
PLAUSIBLE=../shared/corpora/plausible-docs/docs
$BIN/learnloop ingest knowledge --kb sample --base-url https://help.tasklane.example/
$BIN/learnloop ingest "$PLAUSIBLE" --kb plausible --base-url https://plausible.io/docs/
mkdir -p evals/out
$BIN/learnloop eval retrieval --kb sample --questions evals/questions/sample.jsonl \
  --modes hybrid,dense,bm25,multilingual --json evals/out/retrieval-sample.json
$BIN/learnloop eval retrieval --kb plausible --questions evals/questions/plausible.jsonl \
  --modes hybrid,dense,bm25,multilingual --json evals/out/retrieval-plausible.json
