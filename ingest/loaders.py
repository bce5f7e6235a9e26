"""Find knowledge files under a root and hand each to the loader for its format."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ingest.documents import Document, ParseError
from ingest.html_pages import parse_html
from ingest.learning_paths import parse_learning_path
from ingest.markdown_files import parse_markdown
from ingest.zendesk import documents_from_export, load_json, looks_like_zendesk

__all__ = ["MAX_FILE_BYTES", "LoadResult", "discover", "load_file", "url_for"]

MAX_FILE_BYTES = 20 * 1024 * 1024
_MARKDOWN = {".md", ".mdx", ".markdown"}
_HTML = {".html", ".htm"}
_YAML = {".yaml", ".yml"}
_JSON = {".json"}
SUPPORTED = _MARKDOWN | _HTML | _YAML | _JSON


@dataclass
class LoadResult:
    path: Path
    rel: str
    documents: list[Document]
    error: str | None = None


def discover(root: Path) -> tuple[list[Path], list[Path]]:
    """Knowledge files under ``root`` (or ``root`` itself) and the files skipped as not ours."""
    if root.is_file():
        return ([root], []) if root.suffix.lower() in SUPPORTED else ([], [root])
    files, skipped = [], []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if path.name.lower() in ("readme.md", "license.md", "license"):
            skipped.append(path)  # about the knowledge folder, not knowledge
        elif path.suffix.lower() in SUPPORTED:
            files.append(path)
        else:
            skipped.append(path)
    return files, skipped


def url_for(rel: str, base_url: str | None) -> str | None:
    """``how-to/tags.md`` under ``https://help.example/`` → ``https://help.example/how-to/tags``."""
    if not base_url:
        return None
    stem = str(PurePosixPath(rel).with_suffix(""))
    if stem.endswith("/index") or stem == "index":
        stem = stem[: -len("index")].rstrip("/")
    return base_url.rstrip("/") + "/" + stem


def load_file(path: Path, root: Path, base_url: str | None) -> LoadResult:
    """Parse one file; a failure is reported, never raised, so the batch goes on."""
    rel = path.name if root.is_file() else path.relative_to(root).as_posix()
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ParseError(
                f"file is {size // 1_048_576} MB; the limit is {MAX_FILE_BYTES // 1_048_576} MB"
            )
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError(f"not UTF-8 text (byte {exc.start})") from None
        docs = _parse(path.suffix.lower(), text, rel=rel, base_url=base_url)
        return LoadResult(path, rel, docs)
    except ParseError as exc:
        return LoadResult(path, rel, [], error=str(exc))
    except OSError as exc:
        return LoadResult(path, rel, [], error=f"cannot read: {exc.strerror}")


def _parse(suffix: str, text: str, *, rel: str, base_url: str | None) -> list[Document]:
    url = url_for(rel, base_url)
    if suffix in _MARKDOWN:
        return [parse_markdown(text, default_id=rel, url=url, source=rel)]
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
