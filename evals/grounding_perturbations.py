"""Unfaithful answers made from faithful ones, to train the grounding guard (grounding_eval fit).

From each faithful development answer, one of each kind where the answer allows it:

- ``wrong_number``: a number swapped for another figure of the cited source (the hard case: it
  passes the number rule) or an invented one, or its unit changed (days → hours);
- ``contradiction``: one sentence negated, or its negation removed ("can't" → "can",
  "no se" → "se");
- ``wrong_citation``: one sentence's citation pointed at another provided source;
- ``unsupported_sentence``: a sentence appended from a faithful answer about another article,
  or a statement of another article's passage, cited as if from this one's source.

And faithful ``quote`` answers: a statement of the cited source, quoted with its citation; and,
where the set holds the same article in English and in Spanish (``knowledge/articles/es/…``
beside ``knowledge/articles/…``), a statement of one cited as support from the other: a
faithful answer across languages, which hand-written sets have few of. Everything is seeded;
the test set is never read here.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from assistant.answering.grounding import CITATION, split_sentences
from assistant.answering.passages import split_units
from assistant.language import detect_document_language
from evals.grounding_data import Example

__all__ = ["perturbations"]

# Where one answer sentence ends and the next begins (the guard's own rule, grounding.py).
_BREAK = re.compile(r"(?<=[.!?])\s+(?=[^\s\[])|(?<=\])\s+(?=[A-Z¿¡\d])")
_DIGITS = re.compile(r"(?<![\w.,:])\d+(?:[.,]\d+)?(?!\w)")
_UNIT_SWAPS = {
    "days": "hours", "day": "hour", "hours": "days", "hour": "day", "minutes": "hours",
    "minute": "hour", "weeks": "months", "week": "month", "months": "weeks", "month": "week",
    "días": "horas", "horas": "días", "minutos": "horas", "semanas": "meses", "meses": "semanas",
}  # fmt: skip
_EN_NEGATIONS: list[tuple[str, str | Callable[[re.Match[str]], str]]] = [
    (r"\bwon['’]t\b", "will"),
    (r"\bcan['’]t\b|\bcannot\b", "can"),
    (r"\b(do|does|did|is|are|was|were|has|have|should|must)n['’]t\b", r"\1"),
    (r"\b(is|are|was|were) not\b", r"\1"),
    (r"\bnever\b", "always"),
    (r"\bno longer\b", "still"),
    (r"\b(can|will|must|should)\b(?! not)", r"\1 not"),
    (r"\b(is|are)\b(?! not)", r"\1 not"),
]
_ES_NEGATIONS: list[tuple[str, str | Callable[[re.Match[str]], str]]] = [
    (r"\bno\s+", ""),
    (r"\bnunca\b", "siempre"),
    (r"\b(puedes|puede|pueden|se|es|son|hay|tienes|tiene)\b", r"no \1"),
]


def perturbations(rows: Sequence[Example], seed: int = 0) -> list[Example]:
    """Unfaithful variants (and quoted positives) of the faithful ``rows``, reproducibly."""
    rng = random.Random(seed)
    faithful = [r for r in rows if r.faithful]
    out: list[Example] = []
    for row in faithful:
        makers = (_wrong_number, _contradiction, _wrong_citation, _unsupported, _quote)
        for make in makers:
            made = make(row, faithful, rng)
            if made is not None and made.answer != row.answer:
                out.append(made)
    out.extend(_translated_quotes(faithful))
    return out


def _translated_quotes(rows: Sequence[Example]) -> list[Example]:
    """Each statement of a passage cited from the same passage of the article's translation."""
    passages: dict[str, str] = {}
    for row in rows:
        for origin, source in zip(row.origins, row.sources, strict=False):
            passages.setdefault(f"{origin}\n{source.text}", source.text)
    out = []
    seen: set[str] = set()
    for row in rows:
        if not row.origins or row.origins[0] in seen:
            continue
        seen.add(row.origins[0])
        twins = [
            text for key, text in passages.items()
            if _parallel(key.split("\n", 1)[0], row.origins[0]) and text != row.sources[0].text
        ]  # fmt: skip
        for t, twin in enumerate(twins):
            for k, statement in enumerate(_source_statements(twin)):
                answer = f"{statement.rstrip('.')} [1]."
                language = detect_document_language(statement)
                out.append(replace(row, id=f"{row.id}~translated{t}.{k}", answer=answer,
                                   kind="quote", faithful=True, lang=language))
    return out


def _parallel(a: str, b: str) -> bool:
    """Two origins name one section of a help article in two languages
    ("articles/es/x.md#refunds", "articles/x.md#refunds"); without a section, never."""
    path = re.compile(r"\(knowledge/(articles/(?:es/)?)([^)#]+#[^)]+)\)")
    found_a, found_b = path.search(a), path.search(b)
    if not found_a or not found_b or found_a.group(2) != found_b.group(2):
        return False
    return found_a.group(1) != found_b.group(1)


def _pieces(answer: str) -> list[str]:
    """The answer cut into sentences with their citation markers (joined back with spaces)."""
    return [p.strip() for p in _BREAK.split(answer) if p.strip()]


def _variant(row: Example, kind: str, answer: str, faithful: bool = False) -> Example:
    return replace(row, id=f"{row.id}~{kind}", answer=answer, kind=kind, faithful=faithful)


def _wrong_number(row: Example, rows: Sequence[Example], rng: random.Random) -> Example | None:
    pieces = _pieces(row.answer)
    candidates = [i for i, p in enumerate(pieces) if _DIGITS.search(CITATION.sub("", p))]
    if not candidates:
        return None
    i = rng.choice(candidates)
    text = pieces[i]
    cited = _cited_text(row, text)
    numbers = [m for m in _DIGITS.finditer(text) if not _inside_citation(text, m.start())]
    if not numbers:
        return None
    target = rng.choice(numbers)
    unit = re.match(r"[\s-]*(\w+)", text[target.end() :])
    others = sorted({n for n in _DIGITS.findall(cited) if n != target.group(0)})
    choice = rng.random()
    if unit and unit.group(1).lower() in _UNIT_SWAPS and choice < 0.3:
        start, end = target.end() + unit.start(1), target.end() + unit.end(1)
        swapped = _UNIT_SWAPS[unit.group(1).lower()]
        text = text[:start] + swapped + text[end:]
    elif others and choice < 0.75:
        text = text[: target.start()] + rng.choice(others) + text[target.end() :]
    else:
        value = float(target.group(0).replace(",", "."))
        new = rng.choice([value + 1, value * 2, max(value - 1, 2), value * 10])
        shown = str(int(new)) if float(new).is_integer() else str(new)
        text = text[: target.start()] + shown + text[target.end() :]
    pieces[i] = text
    return _variant(row, "wrong_number", " ".join(pieces))


def _contradiction(row: Example, rows: Sequence[Example], rng: random.Random) -> Example | None:
    pieces = _pieces(row.answer)
    order = list(range(len(pieces)))
    rng.shuffle(order)
    rules = _ES_NEGATIONS if row.lang == "es" else _EN_NEGATIONS
    for i in order:
        body, _, tail = pieces[i].partition("[")
        for pattern, replacement in rules:
            flipped = re.sub(pattern, replacement, body, count=1, flags=re.IGNORECASE)
            if flipped != body:
                pieces[i] = flipped + ("[" + tail if tail else "")
                return _variant(row, "contradiction", " ".join(pieces))
    return None


def _wrong_citation(row: Example, rows: Sequence[Example], rng: random.Random) -> Example | None:
    numbers = [s.n for s in row.sources]
    pieces = _pieces(row.answer)
    cited = [i for i, p in enumerate(pieces) if CITATION.search(p)]
    if len(numbers) < 2 or not cited:
        return None
    i = rng.choice(cited)
    current = [int(n) for n in re.findall(r"\d+", CITATION.search(pieces[i]).group(0))]  # type: ignore[union-attr]
    others = [n for n in numbers if n not in current]
    if not others:
        return None
    pieces[i] = CITATION.sub(f"[{rng.choice(others)}]", pieces[i])
    return _variant(row, "wrong_citation", " ".join(pieces))


def _unsupported(row: Example, rows: Sequence[Example], rng: random.Random) -> Example | None:
    elsewhere = [r for r in rows if r.group != row.group]
    if not elsewhere:
        return None
    other = rng.choice(elsewhere)
    if rng.random() < 0.5:
        sentence = rng.choice(split_sentences(other.answer)).text
    else:
        sentence = rng.choice(_source_statements(other.sources[0].text) or [other.answer])
    citation = rng.choice(split_sentences(row.answer)[-1].citations or (1,))
    appended = f"{row.answer} {sentence.rstrip('.')} [{citation}]."
    return _variant(row, "unsupported_sentence", appended)


def _quote(row: Example, rows: Sequence[Example], rng: random.Random) -> Example | None:
    statements = _source_statements(row.sources[0].text)
    if not statements:
        return None
    return _variant(row, "quote", f"{rng.choice(statements).rstrip('.')} [1].", faithful=True)


def _source_statements(text: str) -> list[str]:
    out = []
    for unit in split_units(text):
        for line in unit.text.splitlines() if unit.kind == "steps" else [unit.text]:
            line = re.sub(r"^\s*(?:\d+[.)]|[-*+])\s+", "", line).replace("**", "").strip()
            if len(line.split()) >= 6 and not line.endswith(":"):
                out.append(line)
    return out


def _cited_text(row: Example, piece: str) -> str:
    numbers = {int(n) for m in CITATION.finditer(piece) for n in re.findall(r"\d+", m.group(0))}
    return " ".join(s.text for s in row.sources if s.n in numbers) or row.sources[0].text


def _inside_citation(text: str, position: int) -> bool:
    return any(m.start() <= position < m.end() for m in CITATION.finditer(text))
