"""The folder being ingested, as the loaders see it: files they may read beside the one they
parse (a Sphinx ``include``, an Obsidian ``![[transclusion]]``), read once per run.

One ``SourceTree`` serves a whole sync run; each file is loaded with a ``SourceFile`` that
collects the warnings its loader raises (a missing include is a warning, not a failure).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assistant.knowledge.documents import ParseError

__all__ = ["NOTE_SUFFIXES", "SourceFile", "SourceTree", "read_text"]

NOTE_SUFFIXES = (".md", ".markdown")


def read_text(path: Path) -> str:
    """A file's text, or a ParseError saying in plain words why it cannot be read."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ParseError(f"{path.name} does not exist") from None
    except IsADirectoryError:
        raise ParseError(f"{path.name} is a folder") from None
    except OSError as exc:
        raise ParseError(f"cannot read {path.name}: {exc.strerror}") from None
    try:
        return data.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 text (byte {exc.start})") from None


class SourceTree:
    """The ingested root. Reads are cached (a badge included by 300 pages is read once) and
    notes are indexed by name the first time a transclusion asks for one."""

    def __init__(self, root: Path) -> None:
        self.root = root if root.is_dir() else root.parent
        self._texts: dict[Path, str | ParseError] = {}
        self._notes: dict[str, list[Path]] | None = None
        self._sphinx_roots: dict[Path, Path] = {}
        self.memo: dict[object, object] = {}  # per-run results a loader derives from files

    def read(self, path: Path) -> str:
        """The text of ``path`` (cached, errors included)."""
        key = path.resolve()
        if key not in self._texts:
            try:
                self._texts[key] = read_text(key)
            except ParseError as exc:
                self._texts[key] = exc
        found = self._texts[key]
        if isinstance(found, ParseError):
            raise found
        return found

    def note(self, name: str, near: Path | None = None) -> Path | None:
        """The vault note ``name`` (``Page``, ``Page.md``, ``folder/Page``), found by file name
        anywhere under the root, case-insensitively. Several candidates: the one beside
        ``near``, else the shallowest."""
        wanted = name.strip().replace("\\", "/").lower()
        if wanted.endswith(NOTE_SUFFIXES):
            wanted = wanted.rsplit(".", 1)[0]
        if not wanted:
            return None
        if self._notes is None:
            self._notes = {}
            for path in sorted(self.root.rglob("*")):
                rel = path.relative_to(self.root)
                if path.suffix.lower() in NOTE_SUFFIXES and not any(
                    part.startswith(".") for part in rel.parts
                ):
                    self._notes.setdefault(path.stem.lower(), []).append(path)
        folder, _, stem = wanted.rpartition("/")
        candidates = [
            p
            for p in self._notes.get(stem, [])
            if not folder or f"/{p.parent.relative_to(self.root).as_posix().lower()}".endswith(
                f"/{folder}"
            )
        ]
        if not candidates:
            return None
        if near is not None:
            for path in candidates:
                if path.parent == near.parent:
                    return path
        return min(candidates, key=lambda p: (len(p.relative_to(self.root).parts), str(p)))

    def sphinx_root(self, path: Path) -> Path:
        """The Sphinx source root of ``path``: the nearest folder above it holding ``conf.py``
        (it may lie above the ingested root when a sub-folder is ingested), else the root."""
        directory = path.resolve().parent
        if directory not in self._sphinx_roots:
            found = next(
                (d for d in (directory, *directory.parents) if (d / "conf.py").is_file()),
                self.root.resolve(),
            )
            self._sphinx_roots[directory] = found
        return self._sphinx_roots[directory]


@dataclass
class SourceFile:
    """The file a loader is parsing, the tree around it, and the warnings it raised."""

    path: Path
    rel: str
    tree: SourceTree
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def relative(self, path: Path) -> str:
        """``path`` as a reader of the report knows it: relative to the ingested root."""
        try:
            return path.resolve().relative_to(self.tree.root.resolve()).as_posix()
        except ValueError:
            return str(path)
