"""Train the reader (assistant/reader.py) and its pair judge (assistant/pair_judge.py), and
report both leave-one-knowledge-base-out.

    python -m evals.reader_training sample=evals/questions/sample.jsonl \\
        plausible=evals/questions/plausible.jsonl ... [--same-product sample,tasklane-es] \\
        [--test KB=FILE ...] [--cache FILE.jsonl] [--write]

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

The pair judge learns from the passages those measurements put before the reader, plus
section headings asked of their KB (evals/pair_training.py lists every kind of pair).

Guardrails are skipped while measuring (``assess(..., guardrails=False)``): the reader must
judge the passages, whatever a keyword rule would have said.

Leave one KB out: for each KB, a pair judge and then a reader are fitted on every row and
pair that neither comes from that KB's questions nor was asked of it, and their decisions on
that KB's development questions (and ``--test`` questions, which are never fitted on) are
reported. The threshold on P(answer) is fitted inside the same training rows: the highest
that declines at most ``MAX_WRONG_DECLINES`` of the training KBs' answerable questions.
``--folds`` picks the KBs held out (each fold trains a judge: about six minutes on two
cores); ``--write`` saves the judge and reader fitted on everything to assistant/data/, and
is the only time everything is fitted when folds were asked for.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from assistant.extractive import ExtractiveAnswerer
from assistant.pair_judge import PAIR_JUDGE_FILE, PairJudge
from assistant.reader import CLASSES, FEATURES, READER_FILE, Reader
from evals.pair_training import (
    MeasuredUnit,
    Pair,
    Section,
    first_unit,
    heading_questions,
    swap_detail,
    train_judge,
    vocabulary_of,
)
from evals.retrieval_eval import Question, load_questions

__all__ = [
    "Measured",
    "Measurer",
    "Row",
    "choose_threshold",
    "fit_reader",
    "leave_one_out",
    "main",
]

# Answerable questions declined, at most, on the training KBs (the eval adds the near-miss
# check's declines, a few percent, toward the 0.08 target).
MAX_WRONG_DECLINES = 0.05
_UNANSWERABLE_KINDS = ("unanswerable", "near-miss")
_PAIR = FEATURES.index("pair")
_UNITS_KEPT = 6  # units remembered per measurement (pairs for the judge's training)


@dataclass(frozen=True)
class Row:
    """One measured question: asked of ``kb``, written for ``source``; ``answerable`` is the
    question's own label in its set (for the threshold and the report), ``label`` the class
    the reader should give it here. ``pairs`` are what the pair judge reads for it."""

    kb: str
    source: str
    question_id: str
    kind: str
    label: str
    features: np.ndarray
    evaluation: bool  # a row of the KB's own question set, as asked (what is reported)
    pairs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Measured:
    features: np.ndarray  # the reader's features, the pair column not yet scored
    read: list[str]  # article ids, best first
    pairs: list[tuple[str, str]]  # what the pair judge reads
    units: list[MeasuredUnit] = field(default_factory=list)  # best unit per passage
    asked: list[str] = field(default_factory=list)  # the question as each unit was judged


class _Unjudged:
    """Stands in for the pair judge while measuring: each fold scores the pairs with its own."""

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        return np.zeros(max(1, len(pairs)), dtype=np.float32)


class Measurer:
    """Measures questions through one KB's answerer, remembering every measurement in an
    optional JSONL cache (``--cache``): measuring is the slow part (a few thousand retrievals),
    fitting is not. Delete the cache when the reader's features change."""

    def __init__(self, kb: str, answerer: ExtractiveAnswerer, cache: Path | None = None) -> None:
        self.kb = kb
        self.answerer = answerer
        self.cache = cache
        self._known: dict[str, dict[str, object] | None] = {}
        if cache is not None and cache.exists():
            for line in cache.read_text(encoding="utf-8").splitlines():
                entry = json.loads(line)
                if entry["kb"] == kb:
                    self._known[entry["key"]] = entry["found"]

    def __call__(
        self, question: str, exclude: frozenset[str] = frozenset(), set_aside: int | None = None
    ) -> Measured | None:
        key = json.dumps([question, sorted(exclude), set_aside], ensure_ascii=False)
        if key not in self._known:
            self._known[key] = self._measure(question, exclude, set_aside)
            if self.cache is not None:
                entry = {"kb": self.kb, "key": key, "found": self._known[key]}
                with self.cache.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(entry, ensure_ascii=False) + "\n")
        found = self._known[key]
        if found is None:
            return None
        return Measured(
            np.array(found["features"]),
            list(found["read"]),  # type: ignore[call-overload]
            [tuple(p) for p in found["pairs"]],  # type: ignore[attr-defined]
            [MeasuredUnit(*u) for u in found["units"]],  # type: ignore[attr-defined]
            list(found["asked"]),  # type: ignore[call-overload]
        )

    def _measure(
        self, question: str, exclude: frozenset[str], set_aside: int | None
    ) -> dict[str, object] | None:
        found = self.answerer.assess(question, exclude=exclude, guardrails=False)
        if found.evidence is None:
            return None
        vector = found.evidence.vector()
        off_topic = self.answerer.off_topic
        if set_aside is not None and off_topic is not None:
            alone = np.zeros(len(off_topic.examples), dtype=bool)
            alone[set_aside] = True  # an example's likeness to the others, not to itself
            vector[FEATURES.index("elsewhere")] = self.answerer.elsewhere(question, set_aside=alone)
        best: list[Any] = []  # the best unit of each passage, in rank order
        seen: set[str] = set()
        for scored in found.ranked:
            if scored.hit.chunk_id not in seen and len(best) < _UNITS_KEPT:
                seen.add(scored.hit.chunk_id)
                best.append(scored)
        pairs = self.answerer.judged_pairs(question, found.language, list(found.ranked))
        asked = [self.answerer.rendered(question, found.language, s.hit.locale) for s in best]
        return {
            "features": [float(v) for v in vector],
            "read": list(dict.fromkeys(s.hit.article_id for s in found.ranked)),
            "pairs": pairs,
            "units": [
                [s.hit.article_id, s.hit.title, s.hit.heading, s.unit.text] for s in best
            ],
            "asked": asked,
        }


@dataclass
class Examples:
    """Everything learned from: the reader's rows and the pair judge's pairs."""

    rows: list[Row] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)

    def __iadd__(self, other: Examples) -> Examples:
        self.rows += other.rows
        self.pairs += other.pairs
        return self


@dataclass(frozen=True)
class Corpus:
    """What swapping a question's detail needs of a KB: its word counts and article texts."""

    vocabulary: dict[str, int]
    articles: dict[str, str]
    sections: list[Section]


def corpus_of(knowledge_base: object) -> Corpus:
    catalog = knowledge_base.catalog  # type: ignore[attr-defined]
    titles = {d.id: d.title for d in catalog.documents()}
    chunks = catalog.chunks()
    articles: dict[str, list[str]] = {}
    for c in chunks:
        articles.setdefault(c.doc_id, []).append(c.text)
    return Corpus(
        dict(vocabulary_of([c.text for c in chunks])),
        {a: "\n".join(t) for a, t in articles.items()},
        [Section(c.doc_id, titles.get(c.doc_id, ""), c.heading, c.body) for c in chunks],
    )


def examples_for(
    kb: str,
    measure: Measurer,
    questions: Sequence[Question],
    others: dict[str, list[Question]],
    same_product: set[str],
    off_topic_examples: Sequence[str],
    corpus: Corpus | None = None,
    foreign_max: int = 1000,
    examples_every: int = 1,
    headings: int = 0,
) -> Examples:
    """Every training row and pair asked of one knowledge base (see the module docstring)."""
    from collections import Counter

    out = Examples()
    rng = random.Random(f"{kb}-swap")
    vocabulary = Counter(corpus.vocabulary) if corpus else Counter()

    def row(q: Question, source: str, label: str, m: Measured, evaluation: bool, qid: str) -> None:
        out.rows.append(
            Row(kb, source, qid, q.kind, label, m.features, evaluation, tuple(m.pairs))
        )

    def pair(source: str, asked: str, unit: MeasuredUnit, label: int, why: str) -> None:
        out.pairs.append(Pair(kb, source, asked, unit.passage(), label, why))

    for q in questions:
        m = measure(q.question)
        if q.answerable:
            if m is not None and any(a in q.gold for a in m.read):
                row(q, kb, "answer", m, True, q.id)
                gold = next(i for i, u in enumerate(m.units) if u.article in q.gold)
                unit = m.units[gold]
                pair(kb, m.asked[gold], unit, 1, "answer")
                if corpus is not None:
                    swapped = swap_detail(
                        m.asked[gold], unit.passage(), corpus.articles.get(unit.article, ""),
                        vocabulary, rng,
                    )
                    if swapped:
                        pair(kb, swapped, unit, 0, "swapped")
                for i, u in [(i, u) for i, u in enumerate(m.units) if u.article not in q.gold][:2]:
                    pair(kb, m.asked[i], u, 0, "other-article")
            elif m is not None:  # retrieval missed: reported, never learned from
                row(q, kb, "missed", m, True, q.id)
            gap = measure(q.question, frozenset(q.gold))
            if gap is not None:
                row(q, kb, "gap", gap, False, q.id + "/without-gold")
                for i, u in enumerate(gap.units[:2]):
                    pair(kb, gap.asked[i], u, 0, "gap")
        elif m is not None:
            label = "gap" if q.kind in _UNANSWERABLE_KINDS else "elsewhere"
            row(q, kb, label, m, True, q.id)
            for i, u in enumerate(m.units[: 2 if label == "gap" else 1]):
                pair(kb, m.asked[i], u, 0, label)
    for source, foreign in others.items():
        if source == kb or {source, kb} <= same_product:
            continue
        for q in [q for q in foreign if q.answerable][:foreign_max]:
            m = measure(q.question)
            if m is not None:
                row(q, source, "elsewhere", m, False, q.id)
                out.pairs.append(Pair(kb, source, m.asked[0], m.units[0].passage(), 0, "elsewhere"))
    for i, example in list(enumerate(off_topic_examples))[::examples_every]:
        m = measure(example, set_aside=i)
        if m is not None:
            out.rows.append(
                Row(kb, "off-topic-examples", f"example-{i}", "example", "elsewhere",
                    m.features, False, tuple(m.pairs))
            )
            pair("off-topic-examples", m.asked[0], m.units[0], 0, "elsewhere")
    if corpus is not None:
        for s in heading_questions(corpus.sections, headings, seed=len(kb)):
            own = MeasuredUnit(s.article, s.title, "", first_unit(s.body) or "")
            out.pairs.append(Pair(kb, kb, s.heading, own.passage(False), 1, "heading"))
            m = measure(s.heading, frozenset({s.article}))
            if m is not None:
                out.pairs.append(
                    Pair(kb, kb, m.asked[0], m.units[0].passage(False), 0, "heading-other")
                )
    return out


def scored(rows: Sequence[Row], judge: PairJudge | None) -> list[Row]:
    """``rows`` with the pair column scored by ``judge`` (0 without one)."""
    flat = [p for r in rows for p in r.pairs]
    scores = judge.score_pairs(flat) if judge is not None else np.zeros(len(flat))
    out, at = [], 0
    for r in rows:
        features = r.features.copy()
        n = len(r.pairs)
        features[_PAIR] = float(scores[at : at + n].max()) if n else 0.0
        at += n
        out.append(replace(r, features=features))
    return out


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


def unrelated(held: str, kb: str, source: str) -> bool:
    return held not in (kb, source)


def leave_one_out(rows: Sequence[Row], kbs: Sequence[str]) -> dict[str, Reader]:
    """A reader per KB, fitted on every row unrelated to it (the pair column as it is)."""
    return {
        held: fit_reader([r for r in rows if unrelated(held, r.kb, r.source)]) for held in kbs
    }


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
        "--write",
        action="store_true",
        help=f"save the judge and reader fitted on all ({PAIR_JUDGE_FILE.name}, "
        f"{READER_FILE.name})",
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
    parser.add_argument(
        "--headings", type=int, default=200, help="section headings asked per KB (default 200)"
    )
    parser.add_argument("--epochs", type=int, default=2, help="pair judge epochs (default 2)")
    parser.add_argument(
        "--no-judge", action="store_true", help="leave the pair column at 0 (the reader alone)"
    )
    parser.add_argument(
        "--folds",
        default="all",
        help="comma-separated KBs to hold out and report, 'all' (default) or 'none'",
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
    off_topic = load_examples()
    examples = Examples()
    test_rows: dict[str, list[Row]] = {}
    for kb in dev:
        knowledge_base = knowledge.get(kb)
        answerer = ExtractiveAnswerer(
            knowledge.retriever(knowledge_base),
            knowledge.embedder,
            off_topic=knowledge.off_topic,
            pair_judge=_Unjudged(),
        )
        measure = Measurer(kb, answerer, args.cache)
        examples += examples_for(
            kb, measure, dev[kb], dev, same, off_topic, corpus_of(knowledge_base),
            args.foreign_max, args.examples_every, args.headings,
        )
        if kb in tests:
            test_rows[kb] = [
                r for r in examples_for(kb, measure, tests[kb], {}, same, []).rows if r.evaluation
            ]
        print(f"measured {kb}: {sum(r.kb == kb for r in examples.rows)} rows", file=sys.stderr)

    rows = examples.rows
    counts = {c: sum(r.label == c for r in rows) for c in (*CLASSES, "missed")}
    kinds = {w: sum(p.why == w for p in examples.pairs) for w in {p.why for p in examples.pairs}}
    print(f"rows: {len(rows)} ({', '.join(f'{c} {n}' for c, n in counts.items())})")
    described = ", ".join(f"{w} {n}" for w, n in sorted(kinds.items()))
    print(f"pairs: {len(examples.pairs)} ({described})")
    print("leave one knowledge base out (fitted without the KB's rows, pairs and questions):")
    folds = list(dev) if args.folds == "all" else [f for f in args.folds.split(",") if f in dev]
    for held in folds:
        judge = None
        if not args.no_judge:
            judge = train_judge(
                [p for p in examples.pairs if unrelated(held, p.kb, p.source)], epochs=args.epochs
            )
        fold = scored(rows, judge)
        reader = fit_reader([r for r in fold if unrelated(held, r.kb, r.source)])
        print(f"  without {held}: threshold {reader.threshold:.3f}")
        print(_format(f"{held} dev", decisions(reader, [r for r in fold if r.kb == held])))
        if held in test_rows:
            print(_format(f"{held} test", decisions(reader, scored(test_rows[held], judge))))
        sys.stdout.flush()
    if not args.write and folds:
        return  # the folds were what was asked; fitting on everything takes as long again
    judge = None if args.no_judge else train_judge(examples.pairs, epochs=args.epochs)
    everything = scored(rows, judge)
    pooled = fit_reader(everything)
    print(f"fitted on all: threshold {pooled.threshold:.3f}")
    for kb in dev:
        mine = [r for r in everything if r.kb == kb]
        print(_format(f"{kb} dev (in the fit)", decisions(pooled, mine)))
    if args.write and judge is not None:
        command = "python -m evals.reader_training " + " ".join(argv or sys.argv[1:])
        judge.provenance = {"command": command, "pairs": kinds}
        judge.save(PAIR_JUDGE_FILE)
        pooled.provenance = {"command": command, "rows": counts}
        pooled.save(READER_FILE)
        print(f"wrote {PAIR_JUDGE_FILE} and {READER_FILE}")


if __name__ == "__main__":
    main(sys.argv[1:])
