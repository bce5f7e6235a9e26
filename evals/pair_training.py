"""Training pairs and fine-tuning for the pair judge (assistant/models/pair_judge.py).

Called by ``python -m evals.reader_training``, which measures every question through the real
answerer and hands this module what retrieval put in front of the reader. A ``Pair`` is one
(question, passage) the judge should call answering (1) or not (0):

- ``answer``: an answerable development question with the best unit of its gold article;
- ``other-article``: the same question with the best units of other articles (same product,
  no answer: what a gap looks like from inside the help center);
- ``gap``: the question asked with its gold articles taken out, with what is found then; the
  sets' same-domain unanswerable and near-miss questions with what they find;
- ``swapped``: the answer pair with the word the question hinges on (its rarest word that the
  passage contains) replaced by another word of the same help center that the passage's
  article never uses ("export goals to CSV" → "export goals to Salesforce");
- ``heading`` / ``heading-other``: a section heading as the question, with its own section's
  first unit, and with what is found when its article is taken out;
- ``elsewhere``: other products' questions and off-topic requests with what they find.

Headings read their passages without the heading (it would give the answer away), every
other pair with it, as the chat does.
"""

from __future__ import annotations

import random
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.answering.passages import split_units
from assistant.language import detect_language, is_stop_word
from assistant.models.pair_judge import TRAINABLE_LAYERS, PairJudge, passage_text

__all__ = [
    "MeasuredUnit",
    "Pair",
    "Section",
    "heading_questions",
    "swap_detail",
    "train_judge",
]

_WORD = re.compile(r"[^\W\d_]{4,}", re.UNICODE)
# Headings that name a kind of section rather than ask anything.
_GENERIC = re.compile(
    r"^(overview|introduction|summary|notes?|examples?|see also|next steps|requirements|"
    r"faq|troubleshooting|limitations|related|resumen|introducción|notas?|ejemplos?)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class MeasuredUnit:
    """A unit retrieval put before the reader: its article and where it sits."""

    article: str
    title: str
    heading: str
    text: str

    def passage(self, with_heading: bool = True) -> str:
        return passage_text(self.title, self.heading if with_heading else "", self.text)


@dataclass(frozen=True)
class Section:
    """A section of a knowledge base (for heading questions)."""

    article: str
    title: str
    heading: str
    body: str


@dataclass(frozen=True)
class Pair:
    kb: str  # the KB the passage comes from
    source: str  # the KB the question was written for
    question: str
    passage: str
    label: int
    why: str


def heading_questions(sections: Sequence[Section], limit: int, seed: int = 0) -> list[Section]:
    """Sections whose heading reads like a topic someone asks about: three words or more, not
    the article's own title, not a generic name; at most ``limit``, chosen at random."""
    seen: set[str] = set()
    chosen = []
    for s in sections:
        heading = " ".join(s.heading.split())
        key = heading.lower()
        if (
            len(heading.split()) < 3
            or key in seen
            or key == s.title.strip().lower()
            or _GENERIC.match(key)
            or not first_unit(s.body)
        ):
            continue
        seen.add(key)
        chosen.append(s)
    random.Random(seed).shuffle(chosen)
    return chosen[:limit]


def first_unit(body: str) -> str | None:
    return next((u.text for u in split_units(body) if u.quotable), None)


def swap_detail(
    question: str,
    passage: str,
    article_text: str,
    vocabulary: Counter[str],
    rng: random.Random,
) -> str | None:
    """``question`` with the word it hinges on swapped for a word of the help center that the
    passage's article never uses, or None when no word qualifies.

    The word replaced is the question's rarest (in ``vocabulary``, word counts over the KB's
    passages) that the passage contains; its replacement is drawn from words about as rare."""
    language = detect_language(question)
    present = passage.lower()
    article = article_text.lower()
    words = [
        w
        for w in dict.fromkeys(_WORD.findall(question))
        if w.lower() in present and not is_stop_word(w.lower(), language)
    ]
    if not words:
        return None
    target = min(words, key=lambda w: vocabulary.get(w.lower(), 0))
    rarity = vocabulary.get(target.lower(), 1)
    candidates = [
        w
        for w, n in vocabulary.items()
        if w not in article
        and rarity / 4 <= n <= max(8, rarity * 4)
        and not is_stop_word(w, language)
    ]
    if not candidates:
        return None
    replacement = rng.choice(sorted(candidates))
    return re.sub(rf"\b{re.escape(target)}\b", replacement, question, count=1)


def vocabulary_of(texts: Sequence[str]) -> Counter[str]:
    return Counter(w.lower() for text in texts for w in _WORD.findall(text))


def train_judge(
    pairs: Sequence[Pair],
    epochs: int = 2,
    batch_size: int = 16,
    rate: float = 5e-5,
    head_rate: float = 1e-3,
    seed: int = 0,
    log: bool = True,
    layers: int = TRAINABLE_LAYERS,
) -> PairJudge:
    """Fine-tune the judge's top layers and head on ``pairs`` (binary cross-entropy, the two
    labels weighted to count equally). Deterministic for a seed on one machine."""
    import torch

    judge = PairJudge.base(seed, layers)
    model = judge.model
    trainable = set(judge.trainable_names())
    head: list[torch.nn.Parameter] = []
    body: list[torch.nn.Parameter] = []
    for name, param in model.named_parameters():
        param.requires_grad = name in trainable
        if name in trainable:
            (head if name.startswith("classifier.") else body).append(param)
    optimizer = torch.optim.AdamW(
        [{"params": body, "lr": rate}, {"params": head, "lr": head_rate}], weight_decay=0.01
    )
    labels = np.array([p.label for p in pairs], dtype=np.float32)
    positives = max(1.0, float(labels.sum()))
    pos_weight = torch.tensor((len(labels) - positives) / positives)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    rng = random.Random(seed)
    steps = epochs * ((len(pairs) + batch_size - 1) // batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / (0.1 * steps)) * max(0.0, 1 - step / steps)
    )
    model.train()
    step = 0
    for epoch in range(epochs):
        order = list(range(len(pairs)))
        rng.shuffle(order)
        # Batches of neighbours in length (within shuffled blocks) pad less.
        blocks = [order[i : i + batch_size * 20] for i in range(0, len(order), batch_size * 20)]
        batches = []
        for block in blocks:
            block.sort(key=lambda i: len(pairs[i].question) + len(pairs[i].passage))
            batches += [block[i : i + batch_size] for i in range(0, len(block), batch_size)]
        rng.shuffle(batches)
        total = 0.0
        for batch in batches:
            inputs = judge.encode([(pairs[i].question, pairs[i].passage) for i in batch])
            logits = model(**inputs).logits[:, 0]
            loss = loss_fn(logits, torch.tensor(labels[batch]))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(body + head, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            total += loss.item() * len(batch)
            step += 1
        if log:
            print(
                f"    pair judge epoch {epoch + 1}: loss {total / len(pairs):.4f} "
                f"({len(pairs)} pairs, {int(positives)} answering)",
                file=sys.stderr,
            )
    model.eval()
    for param in model.parameters():
        param.requires_grad = False
    return judge
