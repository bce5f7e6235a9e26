"""Heading-aware chunks that fit the embedding model's window.

all-MiniLM-L6-v2 reads at most 256 word pieces (254 without [CLS]/[SEP]); anything longer is
silently truncated, so chunks are measured with the model's own tokenizer. Each chunk starts
with its heading path ("Title > Section > Subsection"), which both embedders and BM25 see.
Numbered steps stay together unless a list alone is longer than the window.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence

from assistant.knowledge.documents import Chunk, Document, Section

__all__ = ["Chunker", "TokenCounter"]

TokenCounter = Callable[[Sequence[str]], list[int]]

_LIST_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*+])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9¿¡\"'(])")


class Chunker:
    """Packs a document's sections into chunks of at most ``max_tokens`` word pieces."""

    def __init__(self, count_tokens: TokenCounter, max_tokens: int = 254, merge_below: int = 90):
        self.count = count_tokens
        self.max_tokens = max_tokens
        self.merge_below = merge_below

    def chunk(self, doc: Document) -> list[Chunk]:
        pieces: list[tuple[tuple[str, ...], str]] = []
        for section in doc.sections:
            path = (doc.title, *section.heading_path)
            for body in self._pack(path, _blocks(section)):
                pieces.append((path, body))
        pieces = self._merge_small(pieces)
        chunks, seen = [], set()
        for ord_, (path, body) in enumerate(pieces):
            digest = hashlib.sha1(f"{doc.id}\0{' > '.join(path)}\0{body}".encode()).hexdigest()[:20]
            chunk_id = digest if digest not in seen else f"{digest}-{ord_}"
            seen.add(chunk_id)
            chunks.append(Chunk(chunk_id, doc.id, ord_, path, body))
        return chunks

    def _fits(self, path: tuple[str, ...], body: str) -> bool:
        return self.count([f"{' > '.join(path)}\n{body}"])[0] <= self.max_tokens

    def _pack(self, path: tuple[str, ...], blocks: list[str]) -> list[str]:
        header_tokens = self.count([" > ".join(path)])[0] + 1
        budget = max(32, self.max_tokens - header_tokens)
        units: list[str] = []
        for block in blocks:
            units.extend(self._split_block(block, budget))
        sizes = self.count(units) if units else []
        bodies: list[str] = []
        current: list[str] = []
        used = 0
        for unit, size in zip(units, sizes, strict=True):
            joined_cost = size + (1 if current else 0)
            if current and used + joined_cost > budget:
                bodies.append("\n\n".join(current))
                current, used = [], 0
                joined_cost = size
            current.append(unit)
            used += joined_cost
        if current:
            bodies.append("\n\n".join(current))
        # Token counts of joined text can differ slightly from the sum; re-split the rare overflow.
        return [b for body in bodies for b in (self._enforce(path, body))]

    def _enforce(self, path: tuple[str, ...], body: str) -> list[str]:
        if self._fits(path, body):
            return [body]
        for sep in ("\n", " ", ""):  # lines, then words, then characters
            parts = body.split(sep) if sep else list(body)
            if len(parts) > 1:
                half = len(parts) // 2
                return self._enforce(path, sep.join(parts[:half])) + self._enforce(
                    path, sep.join(parts[half:])
                )
        return [body]

    def _split_block(self, block: str, budget: int) -> list[str]:
        if self.count([block])[0] <= budget:
            return [block]
        lines = block.split("\n")
        if len(lines) > 1:
            parts = _group_list_items(lines)
            if len(parts) > 1:
                return [u for part in parts for u in self._split_block(part, budget)]
        sentences = _SENTENCE_END.split(block)
        if len(sentences) > 1:
            return self._greedy(sentences, budget, " ")
        return self._greedy(block.split(" "), budget, " ")

    def _greedy(self, parts: list[str], budget: int, sep: str) -> list[str]:
        sizes = self.count(parts)
        out: list[str] = []
        current: list[str] = []
        used = 0
        for part, size in zip(parts, sizes, strict=True):
            if size > budget and sep == " " and " " in part:
                if current:
                    out.append(sep.join(current))
                    current, used = [], 0
                out.extend(self._greedy(part.split(" "), budget, " "))
                continue
            if current and used + size + 1 > budget:
                out.append(sep.join(current))
                current, used = [], 0
            current.append(part)
            used += size + 1
        if current:
            out.append(sep.join(current))
        return out

    def _merge_small(
        self, pieces: list[tuple[tuple[str, ...], str]]
    ) -> list[tuple[tuple[str, ...], str]]:
        """Fold a short piece into its predecessor when the two fit: a two-line section alone
        makes a weak chunk, and the subheading stays visible as a line of the merged body."""
        merged: list[tuple[tuple[str, ...], str]] = []
        for path, body in pieces:
            if merged:
                prev_path, prev_body = merged[-1]
                common = _common_prefix(prev_path, path)
                small = min(self.count([prev_body, body])) < self.merge_below
                if small and len(common) >= 1:
                    sub = " > ".join(path[len(common) :])
                    prev_sub = " > ".join(prev_path[len(common) :])
                    first = f"{prev_sub}\n{prev_body}" if prev_sub else prev_body
                    second = f"{sub}\n{body}" if sub else body
                    candidate = f"{first}\n\n{second}"
                    if self._fits(common, candidate):
                        merged[-1] = (common, candidate)
                        continue
            merged.append((path, body))
        return merged


def _common_prefix(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        out.append(x)
    return tuple(out)


def _blocks(section: Section) -> list[str]:
    """Paragraphs, fenced code and whole lists (blank lines between list items don't split)."""
    blocks: list[str] = []
    current: list[str] = []
    in_fence = False
    for line in section.text.split("\n"):
        if line.strip().startswith(("```", "~~~")):
            in_fence = not in_fence
            current.append(line)
            continue
        if in_fence:
            current.append(line)
            continue
        if not line.strip():
            if current:
                blocks.append("\n".join(current))
                current = []
            continue
        continues_list = (
            not current
            and blocks
            and _LIST_ITEM.match(line)
            and _LIST_ITEM.match(blocks[-1].split("\n")[-1])
        )
        if continues_list:
            current = blocks.pop().split("\n")
        current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks


def _group_list_items(lines: list[str]) -> list[str]:
    """Split a long block at list-item starts (an item keeps its continuation lines)."""
    parts: list[list[str]] = []
    for line in lines:
        if not parts or _LIST_ITEM.match(line):
            parts.append([line])
        else:
            parts[-1].append(line)
    return ["\n".join(p) for p in parts]
