"""``learnloop eval retrieval``: rank gold articles for each answerable question, per mode."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import ErrorCode, LearnloopError
from assistant.knowledge.base import Knowledge
from assistant.knowledge.retrieval import Mode, Retriever
from evals.metrics import hit_at, ndcg_at, reciprocal_rank_at

__all__ = ["Question", "format_report", "load_questions", "run_retrieval_eval", "summarize"]

METRICS = ("hit@1", "hit@3", "hit@5", "mrr@10", "ndcg@10")


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    lang: str
    answerable: bool
    gold: list[str]
    answer: str = ""
    kind: str = "general"
    extra: dict[str, Any] = field(default_factory=dict)


def load_questions(path: Path) -> list[Question]:
    """Read a JSONL question set; a bad line is reported with its number and stops the run."""
    if not path.exists():
        raise LearnloopError(ErrorCode.invalid_input, f"question file {path} does not exist")
    questions: list[Question] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LearnloopError(
                ErrorCode.invalid_input, f"{where}: not JSON ({exc.msg})"
            ) from None
        if not isinstance(raw, dict):
            raise LearnloopError(ErrorCode.invalid_input, f"{where}: each line must be an object")
        for key, kind in (("id", str), ("question", str), ("answerable", bool), ("gold", list)):
            if not isinstance(raw.get(key), kind):
                raise LearnloopError(
                    ErrorCode.invalid_input, f"{where}: '{key}' must be a {kind.__name__}"
                )
        if raw["answerable"] and not raw["gold"]:
            raise LearnloopError(
                ErrorCode.invalid_input, f"{where}: answerable question without gold"
            )
        if raw["id"] in seen:
            raise LearnloopError(ErrorCode.invalid_input, f"{where}: duplicate id '{raw['id']}'")
        seen.add(raw["id"])
        known = {"id", "question", "lang", "answerable", "gold", "answer", "kind"}
        questions.append(
            Question(
                id=raw["id"],
                question=raw["question"],
                lang=str(raw.get("lang") or "en"),
                answerable=raw["answerable"],
                gold=[str(g) for g in raw["gold"]],
                answer=str(raw.get("answer") or ""),
                kind=str(raw.get("kind") or "general"),
                extra={k: v for k, v in raw.items() if k not in known},
            )
        )
    if not questions:
        raise LearnloopError(ErrorCode.invalid_input, f"{path} holds no questions")
    return questions


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    if not rows:
        return {m: 0.0 for m in METRICS} | {"n": 0}
    out: dict[str, float] = {m: sum(r[m] for r in rows) / len(rows) for m in METRICS}
    out["n"] = len(rows)
    return out


def run_retrieval_eval(
    knowledge: Knowledge, kb: str, questions: Sequence[Question], modes: Sequence[Mode]
) -> dict[str, Any]:
    base = knowledge.get(kb)
    retriever = Retriever(knowledge, base)
    known = {d.id for d in base.catalog.documents()}
    answerable = [q for q in questions if q.answerable]
    missing = sorted({g for q in answerable for g in q.gold if g not in known})
    if missing:
        raise LearnloopError(
            ErrorCode.invalid_input,
            f"gold articles not in knowledge base '{kb}': {', '.join(missing[:10])}",
        )
    report: dict[str, Any] = {"kb": kb, "questions": len(answerable), "modes": {}}
    for mode in modes:
        rows: list[dict[str, Any]] = []
        started = time.perf_counter()
        for q in answerable:
            ranked = [h.article_id for h in retriever.search(q.question, k=10, mode=mode)]
            gold = set(q.gold)
            rows.append(
                {
                    "id": q.id,
                    "lang": q.lang,
                    "kind": q.kind,
                    "ranked": ranked[:5],
                    "hit@1": hit_at(ranked, gold, 1),
                    "hit@3": hit_at(ranked, gold, 3),
                    "hit@5": hit_at(ranked, gold, 5),
                    "mrr@10": reciprocal_rank_at(ranked, gold, 10),
                    "ndcg@10": ndcg_at(ranked, gold, 10),
                }
            )
        elapsed = time.perf_counter() - started
        by_lang: dict[str, list[dict[str, Any]]] = defaultdict(list)
        by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            by_lang[str(row["lang"])].append(row)
            by_kind[str(row["kind"])].append(row)
        report["modes"][mode] = {
            "overall": summarize(rows),
            "by_lang": {k: summarize(v) for k, v in sorted(by_lang.items())},
            "by_kind": {k: summarize(v) for k, v in sorted(by_kind.items())},
            "ms_per_question": round(1000 * elapsed / max(1, len(rows)), 1),
            "misses": [r for r in rows if r["hit@5"] == 0.0],
            "rows": rows,
        }
    return report


def format_report(report: dict[str, Any]) -> str:
    header = f"{'mode':<12} {'slice':<22} {'n':>4} " + " ".join(f"{m:>8}" for m in METRICS)
    lines = [f"knowledge base '{report['kb']}', {report['questions']} answerable questions", header]
    for mode, result in report["modes"].items():
        slices = [("overall", result["overall"])]
        slices += [(f"lang={k}", v) for k, v in result["by_lang"].items()]
        slices += [(f"kind={k}", v) for k, v in result["by_kind"].items()]
        for name, summary in slices:
            lines.append(
                f"{mode:<12} {name:<22} {int(summary['n']):>4} "
                + " ".join(f"{summary[m]:>8.3f}" for m in METRICS)
            )
        lines.append(f"{mode:<12} {'ms/question':<22} {result['ms_per_question']:>4}")
    return "\n".join(lines)
