"""How well the grounding guard tells faithful LLM answers from unfaithful ones; and its training.

    python -m evals.grounding_eval evals/grounding/test.jsonl [--json OUT]
    python -m evals.grounding_eval fit [--dev evals/grounding/dev.jsonl] [--folds 5] \\
        [--write assistant/data/grounding.json]

The report: the share of faithful answers accepted (paraphrases and quotes) and of unfaithful
ones rejected, overall, per kind and per language (``es`` answers on English sources are also
reported as ``es→en``), with the reasons of every wrong decision.

``fit`` measures every answer of the development set and the perturbations generated from its
faithful answers (evals/grounding_perturbations.py), then reports grouped cross-validation:
the articles are split into folds, and each fold's answers (and the perturbations made from
them) are judged by a model fitted on the other folds only. It then fits on everything and
writes the weights with the command that produced them. The test set is never read by ``fit``.

The threshold on the least supported sentence's P(supported) is chosen on the training answers:
the one that accepts most faithful answers while rejecting at least ``REJECT_TARGET`` of the
unfaithful ones (rules included). Why 0.93 and not the 0.95 asked of the test set: a few
unfaithful answers look faithful to every measurement (a figure swapped for another figure of
the same passage; "Admins can delete the workspace" against "Only the Owner can"); rejecting
them costs a threshold that also rejects about half the faithful paraphrases (dev
cross-validation, evals/RESULTS.md), which is the failure this guard exists to fix.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answering.grounding import GroundingGuard, Measured
from assistant.models.embeddings import UseEmbedder, make_embedder
from assistant.models.grounding_model import (
    FEATURES,
    GROUNDING_FILE,
    SUPPORT_LABELS,
    SupportModel,
)
from assistant.models.logistic import LogisticModel
from assistant.settings import Settings
from evals.grounding_data import Example, load_examples

__all__ = ["REJECT_TARGET", "choose_threshold", "evaluate", "fit_model", "main", "make_guard"]

DEV = Path("evals/grounding/dev.jsonl")
REJECT_TARGET = 0.93  # of the unfaithful training answers, rules included (see the docstring)


def make_guard(model: SupportModel | None = None) -> GroundingGuard:
    """The guard with the bundled models (MiniLM as configured, and USE), as the app builds it."""
    settings = Settings()
    embedder = make_embedder(settings.embedder, settings.model_cache)
    return GroundingGuard(embedder, UseEmbedder(), model or _untrained())


def _untrained() -> SupportModel:
    n = len(FEATURES)
    model = LogisticModel.of(SUPPORT_LABELS, np.zeros(n), np.ones(n), np.zeros((n, 2)), np.zeros(2))
    return SupportModel(model, 0.5)


# --- evaluation -------------------------------------------------------------------------------


def evaluate(guard: GroundingGuard, examples: Sequence[Example]) -> dict[str, Any]:
    rows = []
    latencies = []
    for example in examples:
        started = time.perf_counter()
        verdict = guard.check(example.answer, example.sources)
        latencies.append(1000 * (time.perf_counter() - started))
        rows.append(_row(example, verdict.ok, verdict.support, verdict.reason))
    report = summarise(rows)
    report["latency_ms"] = {"p50": _percentile(latencies, 0.5), "p95": _percentile(latencies, 0.95)}
    return report


def _row(example: Example, accepted: bool, support: float, reason: str | None) -> dict[str, Any]:
    lang = example.lang
    if example.source_lang != example.lang:
        lang = f"{example.lang}→{example.source_lang}"
    return {
        "id": example.id,
        "kind": example.kind,
        "lang": lang,
        "faithful": example.faithful,
        "accepted": accepted,
        "support": round(support, 4),
        "reason": reason,
    }


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Accepted share of faithful answers, rejected share of unfaithful ones; per kind, per
    language; and every wrong decision."""

    def rate(selected: list[dict[str, Any]]) -> dict[str, Any]:
        right = [r for r in selected if r["accepted"] == r["faithful"]]
        share = round(len(right) / len(selected), 4) if selected else None
        return {"n": len(selected), "rate": share}

    faithful = [r for r in rows if r["faithful"]]
    unfaithful = [r for r in rows if not r["faithful"]]
    by_lang: dict[str, dict[str, Any]] = defaultdict(dict)
    for r in rows:
        by_lang[r["lang"].split("→")[0]].setdefault("rows", []).append(r)
        if "→" in r["lang"]:
            by_lang[r["lang"]].setdefault("rows", []).append(r)
    return {
        "faithful_accepted": rate(faithful),
        "unfaithful_rejected": rate(unfaithful),
        "by_kind": {
            kind: rate([r for r in rows if r["kind"] == kind])
            for kind in sorted({r["kind"] for r in rows})
        },
        "by_lang": {
            lang: {
                "faithful_accepted": rate([r for r in group["rows"] if r["faithful"]]),
                "unfaithful_rejected": rate([r for r in group["rows"] if not r["faithful"]]),
            }
            for lang, group in sorted(by_lang.items())
        },
        "errors": [r for r in rows if r["accepted"] != r["faithful"]],
    }


def format_report(report: dict[str, Any], title: str = "") -> str:
    def pct(entry: dict[str, Any]) -> str:
        return f"{entry['rate']:.3f} of {entry['n']}" if entry["rate"] is not None else "—"

    lines = [title] if title else []
    lines.append(f"faithful accepted   {pct(report['faithful_accepted'])}")
    lines.append(f"unfaithful rejected {pct(report['unfaithful_rejected'])}")
    lines.append("by kind (share decided right):")
    lines.extend(f"  {kind:22} {pct(entry)}" for kind, entry in report["by_kind"].items())
    lines.append("by language (faithful accepted / unfaithful rejected):")
    for lang, entry in report["by_lang"].items():
        lines.append(
            f"  {lang:8} {pct(entry['faithful_accepted']):>14} / "
            f"{pct(entry['unfaithful_rejected'])}"
        )
    if "latency_ms" in report:
        latency = report["latency_ms"]
        lines.append(f"guard latency ms: p50 {latency['p50']:.1f}, p95 {latency['p95']:.1f}")
    if report["errors"]:
        lines.append("wrong decisions:")
        for r in report["errors"]:
            verdict = "accepted" if r["accepted"] else f"rejected ({r['reason']})"
            where = f"{r['id']} [{r['kind']}, {r['lang']}]"
            lines.append(f"  {where} {verdict}, support {r['support']}")
    return "\n".join(lines)


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


# --- training ---------------------------------------------------------------------------------


def _supports(model: SupportModel, measured: Sequence[Measured]) -> np.ndarray:
    """The least supported sentence's P(supported) per answer; 0 where a rule rejects it."""
    out = np.zeros(len(measured))
    for i, m in enumerate(measured):
        if _open(m):
            out[i] = model.weakest(m.features)
    return out


def _open(m: Measured) -> bool:
    """No rule decided the answer: the model judges it."""
    return m.rejected is None and all(rule is None for rule in m.rules)


def _usable(examples: Sequence[Example], measured: Sequence[Measured]) -> list[int]:
    """Indexes of the answers to learn from: all but the perturbations whose changed sentence
    the guard does not check (too short to state anything: "No" → "Yes"), which are not
    unfaithful at all."""
    by_id = {e.id: (e, m) for e, m in zip(examples, measured, strict=True)}
    keep = []
    for i, (example, m) in enumerate(zip(examples, measured, strict=True)):
        generated = "~" in example.id and not example.faithful
        if generated and m.rejected is None and _changed_rows(example, m, by_id) is None:
            continue
        keep.append(i)
    return keep


def choose_threshold(supports: np.ndarray, faithful: np.ndarray) -> float:
    """The threshold accepting most faithful answers while rejecting ``REJECT_TARGET`` of the
    unfaithful ones; if none does, the one with the best sum of the two rates."""
    candidates = np.unique(np.concatenate([supports, [0.5]]))
    candidates = candidates[candidates > 0]
    best, best_key = 0.5, (-1.0, -1.0)
    for t in candidates:
        accepted = float(np.mean(supports[faithful] >= t)) if faithful.any() else 0.0
        rejected = float(np.mean(supports[~faithful] < t)) if (~faithful).any() else 1.0
        key = (1.0, accepted) if rejected >= REJECT_TARGET else (0.0, accepted + rejected)
        if key > best_key:
            best, best_key = float(t), key
    return best


def _labelled(
    measured: Sequence[Measured], examples: Sequence[Example], model: SupportModel | None
) -> tuple[np.ndarray, np.ndarray]:
    """Sentence rows and their labels: every sentence of a faithful answer is supported; of an
    unfaithful one, the sentence a perturbation changed or added is not, and so is a lone
    sentence; of a hand-written answer with several, the one ``model`` finds least supported
    (left out without a model). The other sentences of unfaithful answers are left out."""
    by_id = {e.id: (e, m) for e, m in zip(examples, measured, strict=True)}
    rows: list[np.ndarray] = []
    labels: list[bool] = []
    for example, m in zip(examples, measured, strict=True):
        if not _open(m):
            continue
        if example.faithful:
            rows.extend(m.features)
            labels.extend([True] * len(m.features))
            continue
        bad = _changed_rows(example, m, by_id)
        if bad is None and len(m.features) == 1:
            bad = [0]
        if bad is None and model is not None:
            bad = [int(np.argmin(model.probabilities(m.features)))]
        for i in bad or []:
            rows.append(m.features[i])
            labels.append(False)
    return np.array(rows), np.array(labels)


def _changed_rows(
    example: Example, m: Measured, by_id: dict[str, tuple[Example, Measured]]
) -> list[int] | None:
    """The sentences a perturbation changed or added (None for a hand-written answer)."""
    original_id, _, kind = example.id.partition("~")
    if not kind or original_id not in by_id:
        return None
    original = {(s.text, s.citations) for s in by_id[original_id][1].sentences}
    changed = [i for i, s in enumerate(m.sentences) if (s.text, s.citations) not in original]
    return changed or None


def fit_model(measured: Sequence[Measured], examples: Sequence[Example]) -> SupportModel:
    """Fitted on labelled sentences in two rounds (the second adds the least supported sentence
    of each hand-written unfaithful answer), thresholded on the answers."""
    usable = _usable(examples, measured)
    measured = [measured[i] for i in usable]
    examples = [examples[i] for i in usable]
    model = SupportModel.fit(*_labelled(measured, examples, None))
    model = SupportModel.fit(*_labelled(measured, examples, model))
    faithful = np.array([e.faithful for e in examples])
    model.threshold = choose_threshold(_supports(model, measured), faithful)
    return model


def _folds(groups: Sequence[str], folds: int, seed: int) -> dict[str, int]:
    names = sorted(set(groups))
    random.Random(seed).shuffle(names)
    return {name: i % folds for i, name in enumerate(names)}


def fit(dev_path: Path, folds: int, seed: int, write: Path | None) -> dict[str, Any]:
    from evals.grounding_perturbations import perturbations

    dev = load_examples(dev_path)
    generated = perturbations(dev, seed=seed)
    examples = [*dev, *generated]
    guard = make_guard()
    started = time.perf_counter()
    measured = [guard.measure(e.answer, e.sources) for e in examples]
    elapsed = time.perf_counter() - started
    print(f"measured {len(examples)} answers in {elapsed:.0f} s", file=sys.stderr)
    fold_of = _folds([e.group for e in examples], folds, seed)
    dev_rows: list[dict[str, Any]] = []
    generated_rows: list[dict[str, Any]] = []
    for fold in range(folds):
        train = [i for i, e in enumerate(examples) if fold_of[e.group] != fold]
        model = fit_model([measured[i] for i in train], [examples[i] for i in train])
        judge = GroundingGuard(guard.embedder, guard.crosslingual, model)
        for i, e in enumerate(examples):
            if fold_of[e.group] != fold:
                continue
            verdict = (
                judge.judge(measured[i]) if measured[i].rejected is None else None
            )
            accepted = verdict.ok if verdict is not None else False
            support = verdict.support if verdict is not None else 0.0
            reason = verdict.reason if verdict is not None else measured[i].rejected
            target = generated_rows if "~" in e.id else dev_rows
            target.append(_row(e, accepted, support, reason))
    final = fit_model(measured, examples)
    cv_dev, cv_generated = summarise(dev_rows), summarise(generated_rows)
    final.provenance = {
        "command": f"python -m evals.grounding_eval fit --dev {dev_path} --folds {folds} "
        f"--seed {seed}" + (f" --write {write}" if write else ""),
        "trained_on": f"{dev_path} ({len(dev)} answers) + {len(generated)} perturbations of its "
        "faithful answers; never the test set",
        "cross_validation": {
            "folds": f"{folds}, grouped by article",
            "dev": {k: cv_dev[k] for k in ("faithful_accepted", "unfaithful_rejected")},
            "perturbations": {
                k: cv_generated[k] for k in ("faithful_accepted", "unfaithful_rejected")
            },
        },
    }
    if write is not None:
        final.save(write)
    return {"cv_dev": cv_dev, "cv_generated": cv_generated, "model": final}


# --- command line -----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["fit"]:
        parser = argparse.ArgumentParser(prog="python -m evals.grounding_eval fit")
        parser.add_argument("--dev", type=Path, default=DEV)
        parser.add_argument("--folds", type=int, default=5)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--write", type=Path, default=None, help=f"e.g. {GROUNDING_FILE}")
        options = parser.parse_args(args[1:])
        result = fit(options.dev, options.folds, options.seed, options.write)
        print(format_report(result["cv_dev"], f"cross-validation on {options.dev}:"))
        print(format_report(
            {**result["cv_generated"], "errors": []}, "cross-validation on the perturbations:"
        ))
        model = result["model"]
        _, _, matrix, _ = model.model.parameters  # per standardized feature, per label
        weights = ", ".join(
            f"{name} {w:+.2f}"
            for name, w in zip(FEATURES, matrix[:, 1] - matrix[:, 0], strict=True)
        )
        print(f"final model: threshold {model.threshold:.4f}; weights {weights}")
        return 0
    parser = argparse.ArgumentParser(prog="python -m evals.grounding_eval")
    parser.add_argument("answers", type=Path)
    parser.add_argument("--json", type=Path, default=None)
    options = parser.parse_args(args)
    settings = Settings()
    guard = GroundingGuard(make_embedder(settings.embedder, settings.model_cache), UseEmbedder())
    report = evaluate(guard, load_examples(options.answers))
    print(format_report(report, f"{options.answers}:"))
    if options.json is not None:
        options.json.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
