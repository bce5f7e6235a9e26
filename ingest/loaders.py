"""Find knowledge files under a root and hand each to the loader for its format."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from assistant.knowledge.documents import Document, ParseError, SkippedFile
from ingest.html_pages import parse_html
from ingest.learning_paths import parse_learning_path
from ingest.markdown_files import parse_markdown
from ingest.plain_text import parse_plain_text
from ingest.rst_files import parse_rst
from ingest.sources import SourceFile, SourceTree, read_text
from ingest.zendesk import documents_from_export, load_json, looks_like_zendesk

__all__ = ["MAX_FILE_BYTES", "SUPPORTED", "LoadResult", "discover", "load_file", "url_for"]

MAX_FILE_BYTES = 20 * 1024 * 1024
_MARKDOWN = {".md", ".mdx", ".markdown"}
_RST = {".rst", ".rest"}
_TEXT = {".txt"}
_HTML = {".html", ".htm"}
_YAML = {".yaml", ".yml"}
_JSON = {".json"}
SUPPORTED = _MARKDOWN | _RST | _TEXT | _HTML | _YAML | _JSON

# Files about the folder or the project, not knowledge (the reason names them in the report).
_NOT_KNOWLEDGE = [
    (re.compile(r"^readme(\.(md|markdown|rst|txt))?$", re.I), "README"),
    (re.compile(r"^(licen[cs]e|copying|notice)(\.(md|markdown|rst|txt))?$", re.I), "license"),
    (re.compile(r"^((requirements|constraints)([-_.].*)?|robots|cmakelists)\.txt$", re.I),
     "project file"),
]  # fmt: skip
# Folders that hold build output or dependencies, never the help center itself.
_NOT_KNOWLEDGE_DIRS = {"_build", "node_modules", "__pycache__", "site-packages"}


@dataclass
class LoadResult:
    path: Path
    rel: str
    documents: list[Document]
    error: str | None = None
    skipped: str | None = None  # why a file in a knowledge format is left out on purpose
    warnings: list[str] = field(default_factory=list)


def discover(root: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Knowledge files under ``root`` (or ``root`` itself), and the files skipped, each with
    the reason. Hidden files and folders (``.git``, ``.obsidian``) are not looked at."""
    if root.is_file():
        reason = _skip_reason(root)
        return ([root], []) if reason is None else ([], [(root, reason)])
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if not path.is_file() or any(part.startswith(".") for part in parts):
            continue
        if any(part in _NOT_KNOWLEDGE_DIRS for part in parts[:-1]):
            continue
        reason = _skip_reason(path)
        if reason is None:
            files.append(path)
        else:
            skipped.append((path, reason))
    return files, skipped


def _skip_reason(path: Path) -> str | None:
    for pattern, reason in _NOT_KNOWLEDGE:
        if pattern.match(path.name):
            return reason
    if path.suffix.lower() not in SUPPORTED:
        return "not a knowledge format"
    return None


def url_for(rel: str, base_url: str | None) -> str | None:
    """``how-to/tags.md`` under ``https://help.example/`` → ``https://help.example/how-to/tags``."""
    if not base_url:
        return None
    stem = str(PurePosixPath(rel).with_suffix(""))
    if stem.endswith("/index") or stem == "index":
        stem = stem[: -len("index")].rstrip("/")
    return base_url.rstrip("/") + "/" + stem


def load_file(
    path: Path, root: Path, base_url: str | None, tree: SourceTree | None = None
) -> LoadResult:
    """Parse one file; a failure is reported, never raised, so the batch goes on.

    ``tree`` is the ingested folder shared by a run's loads (files read once, the vault's
    notes indexed once); without it, this load makes its own."""
    rel = path.name if root.is_file() else path.relative_to(root).as_posix()
    file = SourceFile(path, rel, tree or SourceTree(root))
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ParseError(
                f"file is {size // 1_048_576} MB; the limit is {MAX_FILE_BYTES // 1_048_576} MB"
            )
        text = read_text(path)
        if not text.strip():
            raise ParseError("empty file")
        docs = _parse(path.suffix.lower(), text, file, base_url=base_url)
        return LoadResult(path, rel, docs, warnings=file.warnings)
    except SkippedFile as exc:
        return LoadResult(path, rel, [], skipped=str(exc))
    except ParseError as exc:
        return LoadResult(path, rel, [], error=str(exc), warnings=file.warnings)
    except OSError as exc:
        return LoadResult(path, rel, [], error=f"cannot read: {exc.strerror}")


def _parse(suffix: str, text: str, file: SourceFile, *, base_url: str | None) -> list[Document]:
    rel = file.rel
    url = url_for(rel, base_url)
    if suffix in _MARKDOWN:
        return [parse_markdown(text, default_id=rel, url=url, source=rel, file=file)]
    if suffix in _RST:
        return [parse_rst(text, file=file, default_id=rel, url=url, source=rel)]
    if suffix in _TEXT:
        return [parse_plain_text(text, default_id=rel, url=url, source=rel)]
    if suffix in _HTML:
        return [parse_html(text, default_id=rel, url=url, source=rel)]
    if suffix in _YAML:
        return [parse_learning_path(text, default_id=rel, url=None, source=rel)]
    data = load_json(text)
    if not looks_like_zendesk(data):
        raise ParseError(
            "JSON file is not a Zendesk Help Center export (expected an 'articles' list)"
        )
    return documents_from_export(data, source=rel)
