"""reStructuredText tables cut into rows of cells; each cell keeps its own lines of markup.

Grid tables (``+---+`` borders, spanning cells included), simple tables (``===  ===``
columns), ``list-table`` (a list of lists) and ``csv-table`` content. The caller renders each
cell (it is reStructuredText: lists, roles, substitutions) and joins a row with `` | ``.
"""

from __future__ import annotations

import csv
import itertools
import re
import textwrap

__all__ = [
    "GRID_BORDER",
    "SIMPLE_BORDER",
    "csv_rows",
    "grid_rows",
    "grid_table_end",
    "list_table_rows",
    "simple_rows",
    "simple_table_end",
]

Cell = list[str]  # the cell's lines, dedented
Row = list[Cell]

GRID_BORDER = re.compile(r"^\+(?:[-=]+\+)+\s*$")
SIMPLE_BORDER = re.compile(r"^=+(?: +=+)+\s*$")
_SIMPLE_RULE = re.compile(r"^[=\-]+(?: +[=\-]+)*\s*$")
_LIST_MARKER = re.compile(r"^[*+-]( +|$)")


def _cell(lines: list[str]) -> Cell:
    text = textwrap.dedent("\n".join(line.rstrip() for line in lines)).strip("\n")
    return text.split("\n") if text.strip() else []


def grid_table_end(lines: list[str], start: int) -> int:
    """Index just past the grid table that starts at ``start``."""
    end = start
    while end < len(lines) and lines[end].lstrip().startswith(("+", "|")):
        end += 1
    return end


def grid_rows(lines: list[str]) -> list[Row]:
    """Rows of a grid table. Column boundaries are the ``+`` of every border line; a line
    without a ``|`` at a boundary belongs to a cell spanning it."""
    lines = [line.rstrip() for line in lines]
    bounds = sorted({i for line in lines if line.startswith("+") for i, c in enumerate(line)
                     if c == "+"})  # fmt: skip
    rows: list[Row] = []
    cells: dict[int, list[str]] = {}
    for line in lines[1:]:
        if GRID_BORDER.match(line):
            if any(any(part.strip() for part in parts) for parts in cells.values()):
                rows.append([_cell(cells[key]) for key in sorted(cells)])
            cells = {}
            continue
        cuts = [b for b in bounds if b < len(line) and line[b] in "|+"]
        for left, right in itertools.pairwise(cuts):
            piece = line[left + 1 : right]
            if re.fullmatch(r"\s*[-=]+\s*", piece):  # a row-span border piece
                continue
            cells.setdefault(left, []).append(piece)
    if any(any(part.strip() for part in parts) for parts in cells.values()):
        rows.append([_cell(cells[key]) for key in sorted(cells)])
    return rows


def simple_table_end(lines: list[str], start: int) -> int:
    """Index just past the simple table whose top border is ``lines[start]``: the last
    border line followed by a blank line (or the end)."""
    end = start + 1
    last_border = start
    while end < len(lines):
        line = lines[end]
        if SIMPLE_BORDER.match(line) or (_SIMPLE_RULE.match(line) and "=" in line):
            last_border = end
            if end + 1 >= len(lines) or not lines[end + 1].strip():
                return end + 1
        elif not line.strip() and end > last_border and end + 1 < len(lines) and not lines[
            end + 1
        ].strip():
            break
        end += 1
    return max(last_border + 1, start + 1)


def simple_rows(lines: list[str]) -> list[Row]:
    """Rows of a simple table: columns are the runs of ``=`` of the top border; the last
    column runs to the end of the line; a row whose first column is blank continues the
    previous row."""
    border = lines[0]
    spans = [(m.start(), m.end()) for m in re.finditer(r"=+", border)]
    rows: list[list[list[str]]] = []
    for line in lines[1:]:
        if not line.strip() or _SIMPLE_RULE.match(line):
            continue
        pieces = []
        for index, (left, _) in enumerate(spans):
            stop = len(line) if index == len(spans) - 1 else spans[index + 1][0]
            pieces.append(line[left if index else 0 : stop])
        if rows and not pieces[0].strip():
            for cell, piece in zip(rows[-1], pieces, strict=True):
                if piece.strip():
                    cell.append(piece)
        else:
            rows.append([[piece] for piece in pieces])
    return [[_cell(cell) for cell in row] for row in rows]


def list_table_rows(content: list[str]) -> list[Row]:
    """Rows of a ``list-table``: a bullet list of rows, each a bullet list of cells."""
    return [[_cell(cell) for cell in _items(_cell(row))] for row in _items(content)]


def _items(lines: list[str]) -> list[list[str]]:
    """The items of a bullet list at indentation 0, each with its marker removed."""
    items: list[list[str]] = []
    width = 2
    for line in lines:
        marker = _LIST_MARKER.match(line)
        if marker:
            width = len(marker.group(0)) if marker.group(1) else 2
            items.append([line[width:]])
        elif items:
            items[-1].append(line[width:] if line[:width].strip() == "" else line.strip())
    return items


def csv_rows(header: str | None, content: list[str], delimiter: str = ",") -> list[list[str]]:
    """Rows of a ``csv-table`` (its ``:header:`` option first)."""
    rows: list[list[str]] = []
    for source in ([header] if header else []) + ["\n".join(content)]:
        reader = csv.reader(source.split("\n"), delimiter=delimiter, skipinitialspace=True)
        rows.extend([cell.strip() for cell in row] for row in reader if any(c.strip() for c in row))
    return rows
