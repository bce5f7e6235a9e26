"""Sphinx project context of a reStructuredText file: includes and substitution definitions.

``.. include::`` is textual in docutils, so it is resolved before anything else: the included
lines are spliced in at the directive's indentation (inside a tab, they belong to the tab).
A relative path is relative to the including file, a ``/path`` to the Sphinx source root
(the nearest folder above holding ``conf.py``, else the ingested root). ``:start-after:``,
``:end-before:``, ``:start-line:``, ``:end-line:``, ``:literal:`` and ``:code:`` are honoured.
Includes nest, a cycle is cut, and a missing file is a warning, not a failure.

Substitutions (``.. |name| replace:: text``) come from the file, its includes, and the
``rst_prolog`` / ``rst_epilog`` strings of ``conf.py`` (read as text, never executed).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import cast

from assistant.knowledge.documents import ParseError
from ingest.rst_inline import Substitutions
from ingest.sources import SourceFile

__all__ = ["MARKDOWN_DIRECTIVE", "collect_substitutions", "expand_includes", "resolve"]

# The included Markdown file's text travels to the converter inside this pseudo-directive.
MARKDOWN_DIRECTIVE = "learnloop-markdown"
_INCLUDE = re.compile(r"^(\s*)\.\.\s+include::\s*(.*?)\s*$")
_OPTION = re.compile(r"^\s+:([\w-]+):(?:\s+(.*?))?\s*$")
_SUBSTITUTION_DEF = re.compile(r"^\s*\.\.\s+\|([^|]+)\|\s+([\w-]+)::\s*(.*?)\s*$")
_MAX_DEPTH = 12


def resolve(target: str, including: Path, file: SourceFile) -> Path:
    """The file an include (or literalinclude) names."""
    if target.startswith("/"):
        return file.tree.sphinx_root(including) / target.lstrip("/")
    return including.parent / target


def expand_includes(text: str, path: Path, file: SourceFile) -> list[str]:
    """The lines of ``text`` (the content of ``path``) with every include spliced in."""
    return _expand(text.expandtabs(8).split("\n"), path, file, [path.resolve()])


def _expand(lines: list[str], path: Path, file: SourceFile, stack: list[Path]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _INCLUDE.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        indent, target = match.group(1), match.group(2)
        i += 1
        options: dict[str, str] = {}
        while i < len(lines) and (option := _OPTION.match(lines[i])):
            options[option.group(1)] = option.group(2) or ""
            i += 1
        out.extend(indent + line if line.strip() else "" for line in
                   _included(target, options, path, file, stack))  # fmt: skip
    return out


def _included(
    target: str, options: dict[str, str], path: Path, file: SourceFile, stack: list[Path]
) -> list[str]:
    if target.startswith("<") and target.endswith(">"):
        return []  # docutils' standard substitution sets (<isonum.txt>): not files here
    included = resolve(target, path, file)
    where = f"include '{target}' in {file.relative(path)}"
    key = included.resolve()
    if key in stack or len(stack) > _MAX_DEPTH:
        file.warn(f"{where}: include cycle; left out")
        return []
    try:
        text = file.tree.read(included)
    except ParseError as exc:
        file.warn(f"{where}: {exc}; left out")
        return []
    text = _slice(text, options, where, file)
    lines = text.expandtabs(8).split("\n")
    if "literal" in options or "code" in options:
        language = options.get("code") or "text"
        return ["", f".. code-block:: {language}", "", *("   " + line for line in lines), ""]
    parser = options.get("parser", "")
    if included.suffix.lower() in (".md", ".markdown") or "myst" in parser or "markdown" in parser:
        return ["", f".. {MARKDOWN_DIRECTIVE}::", "", *("   " + line for line in lines), ""]
    return _expand(lines, included, file, [*stack, key])


def _slice(text: str, options: dict[str, str], where: str, file: SourceFile) -> str:
    lines = text.split("\n")
    try:
        start = int(options.get("start-line") or 0)
        end = int(options["end-line"]) if options.get("end-line") else None
    except ValueError:
        file.warn(f"{where}: :start-line:/:end-line: are not numbers; ignored")
        start, end = 0, None
    text = "\n".join(lines[start:end])
    after, before = options.get("start-after"), options.get("end-before")
    if after:
        if after in text:
            text = text.split(after, 1)[1]
        else:
            file.warn(f"{where}: start-after text '{after}' not found; included it all")
    if before:
        if before in text:
            text = text.split(before, 1)[0]
        else:
            file.warn(f"{where}: end-before text '{before}' not found; included it all")
    return text


def collect_substitutions(lines: list[str], path: Path, file: SourceFile) -> Substitutions:
    """Substitution definitions of ``conf.py`` (rst_prolog, rst_epilog), then the file's."""
    subs = Substitutions()
    conf = file.tree.sphinx_root(path) / "conf.py"
    for text in _conf_strings(conf, file):
        _scan(text.expandtabs(8).split("\n"), subs)
    _scan(lines, subs)
    return subs


def _scan(lines: list[str], subs: Substitutions) -> None:
    for i, line in enumerate(lines):
        match = _SUBSTITUTION_DEF.match(line)
        if not match:
            continue
        name, kind, value = " ".join(match.group(1).split()), match.group(2), match.group(3)
        indent = len(line) - len(line.lstrip())
        for more in lines[i + 1 :]:  # the definition may go on, indented
            if not more.strip() or len(more) - len(more.lstrip()) <= indent:
                break
            if not _OPTION.match(more):
                value += " " + more.strip()
        if kind == "replace":
            subs.replace[name] = value
        elif kind == "unicode":
            subs.replace[name] = _unicode(value)
        elif kind in ("image", "figure"):
            subs.images.add(name)
        else:
            subs.replace.setdefault(name, "")  # date::, raw:: …: nothing to read


def _unicode(value: str) -> str:
    out = []
    for token in value.split(".. ")[0].split():
        code = re.fullmatch(r"(?:U\+|u|0x|\\x|x|&#x)?([0-9A-Fa-f]{2,6});?", token)
        out.append(chr(int(code.group(1), 16)) if code else token)
    return "".join(out)


def _conf_strings(conf: Path, file: SourceFile) -> list[str]:
    """``rst_prolog`` and ``rst_epilog`` of ``conf.py`` when they are plain strings."""
    key = ("conf-strings", conf)
    if key not in file.tree.memo:
        found: list[str] = []
        if conf.is_file():
            try:
                module = ast.parse(file.tree.read(conf))
            except (ParseError, SyntaxError, ValueError):
                module = ast.Module(body=[], type_ignores=[])
            for node in module.body:
                if isinstance(node, ast.Assign | ast.AnnAssign):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    names = {t.id for t in targets if isinstance(t, ast.Name)}
                    if names & {"rst_prolog", "rst_epilog"} and node.value is not None:
                        try:
                            value = ast.literal_eval(node.value)
                        except (ValueError, TypeError, SyntaxError, RecursionError):
                            continue
                        if isinstance(value, str):
                            found.append(value)
        file.tree.memo[key] = found
    return cast(list[str], file.tree.memo[key])
