"""MyST Markdown (Sphinx's Markdown): directives in fences and roles, rewritten to Markdown.

- ```` ```{note} ```` / ``:::{tip}`` admonitions: a ``Note:`` lead-in, then their text;
  ``{admonition} Title`` uses its title.
- ``{include}``: the file spliced in (Markdown as is, reStructuredText converted), resolved
  like a Sphinx include; a missing file is a warning.
- ``{eval-rst}``: its reStructuredText converted.
- ``{code-block} lang``: a fenced code block. ``{raw}``, ``{image}``, ``{toctree}``,
  ``{meta}``, ``{mermaid}`` and the like: dropped. Anything else: its content.
- Roles (``{ref}`text <target>```, ``{doc}``, ``{kbd}``…): their text, as in
  reStructuredText. ``(label)=`` targets and ``% comment`` lines are dropped.

Only a file that uses MyST syntax is touched; plain Markdown passes through unchanged.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

from assistant.knowledge.documents import ParseError
from ingest.markup import close_marker, split_front_matter
from ingest.rst_blocks import Close, Heading, RstConverter
from ingest.rst_includes import collect_substitutions, expand_includes, resolve
from ingest.rst_inline import Substitutions, role_text
from ingest.sources import SourceFile

__all__ = ["expand_myst", "uses_myst"]

_OPEN = re.compile(r"^(\s*)(`{3,}|~{3,}|:{3,})\{([\w:.-]+)\}\s*(.*?)\s*$")
_PLAIN_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_ROLE = re.compile(
    r"\{(ref|doc|term|any|numref|download|guilabel|kbd|menuselection|abbr|sub|sup|math|code"
    r"|file|samp|command|program|envvar|option|eq|py:\w+|rst:\w+)\}`([^`]+)`"
)
_TARGET = re.compile(r"^\([\w.:-]+\)=\s*$")
_COMMENT = re.compile(r"^%(\s.*)?$")
_OPTION = re.compile(r"^:([\w-]+):(?:\s+(.*?))?\s*$")
_ADMONITIONS = {
    "note": "Note", "tip": "Tip", "hint": "Hint", "important": "Important",
    "warning": "Warning", "caution": "Caution", "attention": "Attention", "danger": "Danger",
    "error": "Error", "seealso": "See also",
}  # fmt: skip
_DROPPED = {
    "raw", "image", "toctree", "meta", "mermaid", "contents", "index", "graphviz", "youtube",
    "iframe", "video", "plantuml",
}  # fmt: skip
_CODE = {"code-block", "code", "sourcecode", "code-cell", "math", "parsed-literal"}
_MAX_DEPTH = 12


def uses_myst(body: str) -> bool:
    return any(
        _OPEN.match(line) or _TARGET.match(line) or _ROLE.search(line)
        for line in body.split("\n")
    )


def expand_myst(body: str, file: SourceFile | None) -> str:
    """Rewrite the MyST syntax of ``body`` (a Markdown file's text after its front matter)."""
    if not uses_myst(body):
        return body
    path = file.path.resolve() if file else None
    return "\n".join(_expand(body.split("\n"), file, path, [path] if path else []))


def _expand(lines: list[str], file: SourceFile | None, path: Path | None,
            stack: list[Path]) -> list[str]:  # fmt: skip
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        opening = _OPEN.match(line)
        if opening:
            indent, fence, name, argument = opening.groups()
            end = i + 1
            while end < len(lines) and not _closes(lines[end], fence):
                end += 1
            content = [c[len(indent):] if c.startswith(indent) else c for c in lines[i + 1 : end]]
            out.extend(_directive(name.lower(), argument, content, file, path, stack))
            i = end + 1
            continue
        plain = _PLAIN_FENCE.match(line)
        if plain:  # ordinary code: copied as written
            end = i + 1
            while end < len(lines) and not _closes(lines[end], plain.group(1)):
                end += 1
            out.extend(lines[i : end + 1])
            i = end + 1
            continue
        if not (_TARGET.match(line) or _COMMENT.match(line)):
            out.append(_ROLE.sub(lambda m: role_text(m.group(1), m.group(2)), line))
        i += 1
    return out


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]}


def _directive(
    name: str,
    argument: str,
    content: list[str],
    file: SourceFile | None,
    path: Path | None,
    stack: list[Path],
) -> list[str]:
    options, content = _options(content)
    short = name.rsplit(":", 1)[-1]
    if short in _DROPPED:
        return []
    if short in _CODE:
        return [f"```{argument.split()[0] if argument else ''}", *content, "```"]
    if short == "eval-rst":
        return ["", *_rst_as_markdown(content, file, path), ""]
    if short == "include":
        return ["", *_include(argument, options, file, path, stack), ""]
    body = _expand(content, file, path, stack)
    if short in _ADMONITIONS or short == "admonition":
        label = argument if short == "admonition" and argument else _ADMONITIONS.get(short, "")
        if short in _ADMONITIONS and argument:  # "```{note} Text" starts the text
            body = [argument, *body]
        label = label or short.capitalize()
        return ["", label if label[-1] in ".:?!" else f"{label}:", *body, ""]
    return ["", *body, ""]  # figure (its caption), tab-set, dropdown, unknown: the content


def _options(content: list[str]) -> tuple[dict[str, str], list[str]]:
    """The directive's options (``:key: value`` lines, or a ``---`` YAML block) and the rest."""
    options: dict[str, str] = {}
    if content and content[0].strip() == "---":
        end = next((i for i in range(1, len(content)) if content[i].strip() == "---"), None)
        if end is not None:
            for line in content[1:end]:
                key, _, value = line.partition(":")
                options[key.strip()] = value.strip()
            return options, content[end + 1 :]
    i = 0
    while i < len(content) and (option := _OPTION.match(content[i])):
        options[option.group(1)] = option.group(2) or ""
        i += 1
    return options, content[i:]


def _include(target: str, options: dict[str, str], file: SourceFile | None, path: Path | None,
             stack: list[Path]) -> list[str]:  # fmt: skip
    if file is None or path is None:
        return []
    included = resolve(target, path, file)
    where = f"include '{target}' in {file.relative(path)}"
    if included.resolve() in stack or len(stack) > _MAX_DEPTH:
        file.warn(f"{where}: include cycle; left out")
        return []
    try:
        text = file.tree.read(included)
    except ParseError as exc:
        file.warn(f"{where}: {exc}; left out")
        return []
    for key, keep in (("start-after", 1), ("end-before", 0)):
        marker = options.get(key)
        if marker and marker in text:
            text = text.split(marker, 1)[keep]
    if included.suffix.lower() in (".rst", ".rest"):
        return _rst_as_markdown(text.split("\n"), file, included)
    with contextlib.suppress(ParseError):  # a broken header: the text as it is
        _, text = split_front_matter(text)
    return _expand(text.split("\n"), file, included, [*stack, included.resolve()])


def _rst_as_markdown(lines: list[str], file: SourceFile | None, path: Path | None) -> list[str]:
    """reStructuredText converted to Markdown lines (its headings as ``#`` headings)."""
    subs = Substitutions()
    if file is not None and path is not None:
        lines = expand_includes("\n".join(lines), path, file)
        subs = collect_substitutions(lines, path, file)
    out: list[str] = []
    for event in RstConverter(subs, file, path).convert(lines):
        if isinstance(event, Heading):
            out.extend(["", "#" * min(6, event.level + 1) + " " + event.title, ""])
        elif isinstance(event, Close):
            out.extend(["", close_marker(event.level + 1 if event.level else 0), ""])
        else:
            out.append(event)
    return out
