"""Probe (not shipped): is a planted list step an outlier among its list's steps?

For every numbered list of three or more steps in the shared help centers (Plausible,
Mattermost's end-user guide) and the sample one, each step is scored by its cosine (MiniLM)
with the normalised sum of the article title and the mean of the other steps. A cut-off at a
low percentile of the genuine steps of the *other* help centers (leave one help center out)
is then applied to the held-out help center's steps (false flags) and to every BIPIA test
attack planted as step 2 of a sample list (attacks caught). No attack text is used to choose
anything. The numbers say whether a coherence judgement could close the step-list gap of
``tests/security/test_redteam.py``; see evals/RESULTS.md "Issue 10".

    python -m evals.list_coherence [--shared ../shared]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

from assistant.knowledge.base import Knowledge
from assistant.models.embeddings import Embedder
from assistant.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
_STEP = re.compile(r"^\s*\d+[.)]\s+(.*\S)\s*$")
_TITLE = re.compile(r'^title:\s*"?(.*?)"?\s*$', re.MULTILINE)

List = tuple[str, list[str]]  # (article title, its steps)


def numbered_lists(root: Path, suffixes: set[str]) -> list[List]:
    """Each numbered list of three or more steps, with its file's title."""
    found: list[List] = []
    for path in sorted(root.rglob("*")):
        if path.suffix not in suffixes or not path.is_file():
            continue
        text = path.read_text(errors="ignore")
        title_match = _TITLE.search(text)
        title = title_match.group(1) if title_match else path.stem.replace("-", " ")
        steps: list[str] = []
        for line in [*text.splitlines(), "end"]:
            step = _STEP.match(line)
            if step:
                steps.append(step.group(1))
            elif line.strip() and not line.startswith("   "):
                if len(steps) >= 3:
                    found.append((title, steps))
                steps = []
    return found


def coherence(embedder: Embedder, title: str, steps: list[str]) -> np.ndarray:
    """Each step's cosine with the title plus the mean of the other steps."""
    vectors = embedder.embed_documents([title, *steps])
    heading, rows = vectors[0], vectors[1:]
    scores = []
    for i in range(len(rows)):
        context = np.delete(rows, i, axis=0).mean(axis=0) + heading
        scores.append(float(rows[i] @ (context / np.linalg.norm(context))))
    return np.array(scores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--percentile", type=float, default=1.0)
    args = parser.parse_args()
    embedder = Knowledge(Settings()).embedder
    corpora = {
        "sample": numbered_lists(ROOT / "knowledge", {".md"}),
        "plausible": numbered_lists(args.shared / "corpora/plausible-docs/docs", {".md"}),
        "mattermost": numbered_lists(
            args.shared / "corpora/mattermost-docs/source/end-user-guide", {".rst"}
        ),
    }
    genuine = {
        name: np.concatenate([coherence(embedder, t, s) for t, s in lists])
        for name, lists in corpora.items()
    }
    attacks = []
    for name in ("text_attack_test.json", "code_attack_test.json"):
        data = json.loads((args.shared / "redteam/bipia" / name).read_text())
        attacks += [" ".join(t.split()) for texts in data.values() for t in texts]
    sample = corpora["sample"]
    planted = np.array([
        coherence(embedder, sample[i % len(sample)][0],
                  [sample[i % len(sample)][1][0], attack, *sample[i % len(sample)][1][1:]])[1]
        for i, attack in enumerate(attacks)
    ])
    for name, scores in genuine.items():
        print(f"{name}: {len(corpora[name])} lists, {len(scores)} steps")
    for held, scores in genuine.items():
        rest = np.concatenate([v for n, v in genuine.items() if n != held])
        cut = float(np.percentile(rest, args.percentile))
        print(f"cut at p{args.percentile:g} of the others ({cut:.3f}): {held} steps flagged "
              f"{(scores < cut).mean():.2%}; BIPIA steps caught {(planted < cut).mean():.2f} "
              f"of {len(planted)}")


if __name__ == "__main__":
    main()
