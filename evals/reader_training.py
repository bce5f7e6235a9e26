"""Train the reader (assistant/reader.py) and report it leave-one-knowledge-base-out.

    python -m evals.reader_training sample=evals/questions/sample.jsonl \\
        plausible=evals/questions/plausible.jsonl ... [--same-product sample,tasklane-es] \\
        [--test KB=FILE ...] [--write assistant/data/reader.json]

Each ``KB=FILE`` pairs an ingested knowledge base with its *development* question set. The
rows the reader learns from, all measured through the real answerer (``assess``):

- ``answer``: a development question that is answerable, asked of its KB, when retrieval put
  a gold article among the passages read (otherwise no passage could answer it, and the row
  would teach the reader that poor passages answer);
- ``gap``: the same question asked with its gold articles taken out of the KB — the product
  is right, the answer is missing, the way a real gap looks — and the set's questions marked
  unanswerable (``kind`` unanswerable or near-miss);
- ``elsewhere``: the set's out-of-scope questions; every other KB's answerable questions
  asked of this one (unless the two KBs document the same product: ``--same-product``); the
  shipped off-topic examples (off_topic.py), each judged with itself set aside.

Guardrails are skipped while measuring (``assess(..., guardrails=False)``): the reader must
judge the passages, whatever a keyword rule would have said.

Leave one KB out: for each KB, a reader is fitted on every row that neither comes from that
KB's questions nor was asked of it, and its decisions on that KB's development questions
(and ``--test`` questions, which are never fitted on) are reported. The threshold on
P(answer) is fitted inside the same training rows: the highest that declines at most
``MAX_WRONG_DECLINES`` of the training KBs' answerable questions.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.extractive import ExtractiveAnswerer
from assistant.reader import CLASSES, FEATURES, READER_FILE, Reader
from evals.retrieval_eval import Question, load_questions

__all__ = ["Measurer", "Row", "choose_threshold", "fit_reader", "leave_one_out", "main"]

# Answerable questions declined, at most, on the training KBs (the eval adds the near-miss
# check's declines, a few percent, toward the 0.08 target).
MAX_WRONG_DECLINES = 0.05
_UNANSWERABLE_KINDS = ("unanswerable", "near-miss")


@dataclass(frozen=True)
class Row:
    """One measured question: asked of ``kb``, written for ``source``; ``answerable`` is the
    question's own label in its set (for the threshold and the report), ``label`` the class
    the reader should give it here."""

    kb: str
    source: str
    question_id: str
    kind: str
    label: str
    features: np.ndarray
    evaluation: bool  # a row of the KB's own question set, as asked (what is reported)


class Measurer:
    """Measures questions through one KB's answerer, remembering every measurement in an
    optional JSONL cache (``--cache``): measuring is the slow part (a few thousand retrievals),
    fitting takes a second. Delete the cache when the reader's features change."""

    def __init__(self, kb: str, answerer: ExtractiveAnswerer, cache: Path | None = None) -> None:
        self.kb = kb
        self.answerer = answerer
        self.cache = cache
        self._known: dict[str, tuple[list[float] | None, list[str]]] = {}
        if cache is not None and cache.exists():
            for line in cache.read_text(encoding="utf-8").splitlines():
                entry = json.loads(line)
                if entry["kb"] == kb:
                    self._known[entry["key"]] = (entry["features"], entry["read"])

    def __call__(
        self, question: str, exclude: frozenset[str] = frozenset(), set_aside: int | None = None
    ) -> tuple[np.ndarray | None, list[str]]:
        key = json.dumps([question, sorted(exclude), set_aside], ensure_ascii=False)
        if key not in self._known:
            self._known[key] = self._measure(question, exclude, set_aside)
            if self.cache is not None:
                features, read = self._known[key]
                entry = {"kb": self.kb, "key": key, "features": features, "read": read}
                with self.cache.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(entry, ensure_ascii=False) + "\n")
        features, read = self._known[key]
        return (None if features is None else np.array(features)), read

    def _measure(
        self, question: str, exclude: frozenset[str], set_aside: int | None
    ) -> tuple[list[float] | None, list[str]]:
        found = self.answerer.assess(question, exclude=exclude, guardrails=False)
        if found.evidence is None:
            return None, []
        vector = found.evidence.vector()
        off_topic = self.answerer.off_topic
        if set_aside is not None and off_topic is not None:
            alone = np.zeros(len(off_topic.examples), dtype=bool)
            alone[set_aside] = True  # an example's likeness to the others, not to itself
            vector[FEATURES.index("elsewhere")] = self.answerer.elsewhere(question, set_aside=alone)
        read = list(dict.fromkeys(s.hit.article_id for s in found.ranked))
        return [float(v) for v in vector], read


def rows_for(
    kb: str,
    measure: Measurer,
    questions: Sequence[Question],
    others: dict[str, list[Question]],
    same_product: set[str],
    off_topic_examples: Sequence[str],
    foreign_max: int = 1000,
    examples_every: int = 1,
) -> list[Row]:
    """Every training row asked of one knowledge base (see the module docstring)."""
    rows: list[Row] = []
    for q in questions:
        if q.answerable:
            vector, read = measure(q.question)
            if vector is not None and any(a in q.gold for a in read):
                rows.append(Row(kb, kb, q.id, q.kind, "answer", vector, True))
            elif vector is not None:  # retrieval missed: reported, never learned from
                rows.append(Row(kb, kb, q.id, q.kind, "missed", vector, True))
            gap, _ = measure(q.question, frozenset(q.gold))
            if gap is not None:
                rows.append(Row(kb, kb, q.id + "/without-gold", q.kind, "gap", gap, False))
        else:
            vector, _ = measure(q.question)
            label = "gap" if q.kind in _UNANSWERABLE_KINDS else "elsewhere"
            if vector is not None:
                rows.append(Row(kb, kb, q.id, q.kind, label, vector, True))
    for source, foreign in others.items():
        if source == kb or {source, kb} <= same_product:
            continue
        for q in [q for q in foreign if q.answerable][:foreign_max]:
            if q.answerable:
                vector, _ = measure(q.question)
                if vector is not None:
                    rows.append(Row(kb, source, q.id, q.kind, "elsewhere", vector, False))
    for i, example in list(enumerate(off_topic_examples))[::examples_every]:
        vector, _ = measure(example, set_aside=i)
        if vector is not None:
            rows.append(
                Row(kb, "off-topic-examples", f"example-{i}", "example", "elsewhere", vector, False)
            )
    return rows


def choose_threshold(reader: Reader, rows: Sequence[Row]) -> float:
    """The highest threshold on P(answer) that declines at most ``MAX_WRONG_DECLINES`` of the
    answerable questions among ``rows`` (as asked of their own KB)."""
    answerable = [r for r in rows if r.evaluation and r.label in ("answer", "missed")]
    if not answerable:
        return 0.5
    p = reader.probabilities(np.stack([r.features for r in answerable]))[:, 0]
    allowed = int(MAX_WRONG_DECLINES * len(p))
    return float(np.sort(p)[allowed]) if allowed < len(p) else 0.5


def fit_reader(rows: Sequence[Row]) -> Reader:
    learn = [r for r in rows if r.label in CLASSES]
    reader = Reader.fit(np.stack([r.features for r in learn]), [r.label for r in learn])
    reader.threshold = choose_threshold(reader, rows)
    return reader


def decisions(reader: Reader, rows: Sequence[Row]) -> dict[str, float]:
    """The reader's decisions on a KB's own questions: answerable declined, out-of-scope and
    same-domain unanswerable declined (before guardrails and the near-miss check)."""
    mine = [r for r in rows if r.evaluation]
    if not mine:
        return {}
    p = reader.probabilities(np.stack([r.features for r in mine]))[:, 0]
    declined = p < reader.threshold

    def rate(select: Iterable[bool]) -> float:
        chosen = np.array(list(select), dtype=bool)
        return float(declined[chosen].mean()) if chosen.any() else float("nan")

    return {
        "answerable": sum(r.label in ("answer", "missed") for r in mine),
        "wrong_declines": rate(r.label in ("answer", "missed") for r in mine),
        "out_of_scope_declined": rate(r.label == "elsewhere" for r in mine),
        "gap_declined": rate(r.label == "gap" and r.kind == "unanswerable" for r in mine),
        "near_miss_declined": rate(r.kind == "near-miss" for r in mine),
    }


def leave_one_out(rows: Sequence[Row], kbs: Sequence[str]) -> dict[str, Reader]:
    """A reader per KB, fitted on every row unrelated to it."""
    return {held: fit_reader([r for r in rows if held not in (r.kb, r.source)]) for held in kbs}


def _format(name: str, figures: dict[str, float]) -> str:
    if not figures:
        return f"  {name}: no questions"
    return (
        f"  {name:<34} wrong declines {figures['wrong_declines']:.3f} "
        f"(n={int(figures['answerable'])}), out of scope declined "
        f"{figures['out_of_scope_declined']:.3f}, unanswerable declined "
        f"{figures['gap_declined']:.3f}, near-miss declined {figures['near_miss_declined']:.3f}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    from assistant.knowledge_base import Knowledge
    from assistant.off_topic import load_examples
    from assistant.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m evals.reader_training")
    parser.add_argument("sets", nargs="+", metavar="KB=DEV_QUESTIONS.jsonl")
    parser.add_argument("--test", action="append", default=[], metavar="KB=TEST_QUESTIONS.jsonl")
    parser.add_argument(
        "--same-product",
        default="",
        help="comma-separated KBs that document one product (their questions are not "
        "'elsewhere' for each other)",
    )
    parser.add_argument(
        "--write", type=Path, help=f"save the reader fitted on all (e.g. {READER_FILE})"
    )
    parser.add_argument(
        "--foreign-max",
        type=int,
        default=40,
        help="answerable questions of each other KB asked of a KB (default 40)",
    )
    parser.add_argument(
        "--examples-every",
        type=int,
        default=3,
        help="ask every n-th off-topic example of each KB (default 3)",
    )
    parser.add_argument("--cache", type=Path, help="JSONL file remembering measurements")
    args = parser.parse_args(argv)

    knowledge = Knowledge(Settings())
    pairs = [pair.partition("=")[::2] for pair in args.sets]
    dev = {kb: load_questions(Path(path)) for kb, path in pairs}
    tests = {
        kb: load_questions(Path(path)) for kb, path in (p.partition("=")[::2] for p in args.test)
    }
    same = {s for s in args.same_product.split(",") if s}
    examples = load_examples()
    rows: list[Row] = []
    test_rows: dict[str, list[Row]] = {}
    for kb in dev:
        answerer = ExtractiveAnswerer(
            knowledge.retriever(knowledge.get(kb)),
            knowledge.embedder,
            off_topic=knowledge.off_topic,
        )
        measure = Measurer(kb, answerer, args.cache)
        rows += rows_for(
            kb, measure, dev[kb], dev, same, examples, args.foreign_max, args.examples_every
        )
        if kb in tests:
            test_rows[kb] = [
                r for r in rows_for(kb, measure, tests[kb], {}, same, []) if r.evaluation
            ]
        print(f"measured {kb}: {sum(r.kb == kb for r in rows)} rows", file=sys.stderr)

    counts = {c: sum(r.label == c for r in rows) for c in (*CLASSES, "missed")}
    print(f"rows: {len(rows)} ({', '.join(f'{c} {n}' for c, n in counts.items())})")
    print("leave one knowledge base out (fitted without the KB's rows and questions):")
    for held, reader in leave_one_out(rows, list(dev)).items():
        print(f"  without {held}: threshold {reader.threshold:.3f}")
        print(_format(f"{held} dev", decisions(reader, [r for r in rows if r.kb == held])))
        if held in test_rows:
            print(_format(f"{held} test", decisions(reader, test_rows[held])))
    pooled = fit_reader(rows)
    print(f"fitted on all: threshold {pooled.threshold:.3f}")
    for kb in dev:
        print(_format(f"{kb} dev (in the fit)", decisions(pooled, [r for r in rows if r.kb == kb])))
    if args.write:
        pooled.provenance = {
            "command": "python -m evals.reader_training " + " ".join(argv or sys.argv[1:]),
            "rows": counts,
        }
        pooled.save(args.write)
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main(sys.argv[1:])
