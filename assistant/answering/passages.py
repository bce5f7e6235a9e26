"""Split a chunk body into answer units: sentences, or whole numbered-step lists.

An answer quotes units, never fragments: a list of steps is one unit (steps are useless
half-copied), a paragraph contributes its sentences, a fenced code block stays whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

__all__ = ["Unit", "split_units"]

_LIST_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*+])\s+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9¿¡\"'(*`])")
_SUBHEADING = re.compile(r"^[^\n.!?:]{2,80}$")


@dataclass(frozen=True)
class Unit:
    text: str
    kind: str  # "sentence" | "steps" | "code"
    position: int  # order within the chunk
    paragraph: int = 0  # which block of the chunk (a paragraph, a list, a code block) it is in

    @property
    def words(self) -> int:
        return len(self.text.split())

    @property
    def quotable(self) -> bool:
        """Whole sentences and step lists; not fragments, table rows or walls of text."""
        if self.words < 4 or self.text.count("|") >= 3:
            return False
        return self.kind == "steps" or self.words <= 90

    @property
    def gist(self) -> str:
        """What gets embedded: the first 60 words (a step list's opening says what it does)."""
        return " ".join(self.text.split()[:60])


def split_units(body: str) -> list[Unit]:
    units: list[Unit] = []
    for paragraph, block in enumerate(_blocks(body)):
        first = block.split("\n", 1)[0]
        if block.lstrip().startswith(("```", "~~~")):
            units.append(Unit(block, "code", len(units), paragraph))
        elif _LIST_ITEM.match(first):
            if units and units[-1].kind == "steps":  # the same list, split by blank lines
                units[-1] = replace(units[-1], text=units[-1].text + "\n" + block)
            else:
                units.append(Unit(block, "steps", len(units), paragraph))
        elif "\n" not in block and _SUBHEADING.match(block) and not block.endswith(":"):
            continue  # a folded subheading line, not a statement
        else:
            text = " ".join(block.split())
            for sentence in _SENTENCE.split(text):
                if sentence.strip():
                    units.append(Unit(sentence.strip(), "sentence", len(units), paragraph))
    return units


def _blocks(body: str) -> list[str]:
    blocks: list[str] = []
    current: list[str] = []
    in_fence = False
    for line in body.split("\n"):
        if line.strip().startswith(("```", "~~~")):
            in_fence = not in_fence
        if not line.strip() and not in_fence:
            if current:
                blocks.append("\n".join(current))
                current = []
            continue
        # A list that follows a paragraph line directly still starts its own block.
        if current and _LIST_ITEM.match(line) and not _LIST_ITEM.match(current[0]) and not in_fence:
            blocks.append("\n".join(current))
            current = []
        current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks
