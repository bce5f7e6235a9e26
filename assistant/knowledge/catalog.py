"""The knowledge base's catalog: documents, their chunks and the multilingual gist vectors.

SQLite is the source of truth for what is in a knowledge base. Chroma (dense vectors) and the
BM25 index are derived from it: a document counts as indexed only once its catalog
transaction commits, retrieval ignores vector hits the catalog does not know, and every sync
ends by reconciling Chroma against the catalog. That is how an interrupted run never leaves
half a document searchable.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from assistant.knowledge.documents import Chunk, Document
from assistant.storage.database import Database, connect_sqlite
from assistant.urls import is_web_address

__all__ = ["Catalog", "ChunkRow", "DocumentRow"]

_SCHEMA = [
    # 1: documents and chunks
    """
    CREATE TABLE documents (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, title TEXT NOT NULL, url TEXT,
        locale TEXT NOT NULL, audience TEXT, level TEXT, feature TEXT, tags TEXT NOT NULL,
        description TEXT, source TEXT NOT NULL, root TEXT NOT NULL, hash TEXT NOT NULL,
        extra TEXT NOT NULL, updated_at TEXT NOT NULL
    );
    CREATE TABLE chunks (
        id TEXT PRIMARY KEY,
        doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        ord INTEGER NOT NULL, heading TEXT NOT NULL, body TEXT NOT NULL, gist BLOB
    );
    CREATE INDEX chunks_doc ON chunks(doc_id, ord);
    CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 2: multilingual word vectors for cross-language questions (see crosslingual.py)
    """
    CREATE TABLE terms (
        language TEXT NOT NULL, word TEXT NOT NULL, vector BLOB NOT NULL,
        PRIMARY KEY (language, word)
    );
    """,
    # 3: an embedding of each article's title and summary (article-level ranking)
    "ALTER TABLE documents ADD COLUMN card BLOB",
    # 4: embeddings of each chunk's answer units (sentences, step lists), for the answerer
    "ALTER TABLE chunks ADD COLUMN units BLOB",
    # 5: the pieces the planted-text judge flagged in each chunk, and which judge it was
    # (JSON {"judge": digest, "flagged": [[text, p], ...]}); NULL: not judged (ingest/planted.py)
    "ALTER TABLE chunks ADD COLUMN planted TEXT",
]


_DOCUMENT_COLUMNS = (
    "id, kind, title, url, locale, audience, level, feature, tags, description, source, root,"
    " hash, extra"
)


@dataclass(frozen=True)
class DocumentRow:
    id: str
    kind: str
    title: str
    url: str | None
    locale: str
    audience: str | None
    level: str | None
    feature: str | None
    tags: list[str]
    description: str | None
    source: str
    root: str
    hash: str
    extra: dict[str, Any]


@dataclass(frozen=True)
class ChunkRow:
    id: str
    doc_id: str
    ord: int
    heading: str
    body: str
    # What the planted-text judge flagged in the body (never served), with probabilities.
    planted: tuple[tuple[str, float], ...] = ()

    @property
    def text(self) -> str:
        return f"{self.heading}\n{self.body}"


class Catalog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = connect_sqlite(path)
        # The catalog is a file per knowledge base (beside its vectors), always SQLite.
        Database(self._db, "sqlite", str(path)).migrate("catalog", _SCHEMA, adopt_user_version=True)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def consistent_view(self) -> Iterator[Catalog]:
        """This catalog as of one moment: a read transaction on a connection of its own, so
        that a reader loading documents, chunks, vectors and state never mixes two
        generations while an ingest commits (WAL keeps the transaction's snapshot)."""
        view = Catalog.__new__(Catalog)
        view.path = self.path
        view._db = connect_sqlite(self.path)
        try:
            view._db.execute("BEGIN")
            view._db.execute("SELECT 1 FROM state LIMIT 1")  # the snapshot starts here
            yield view
        finally:
            view._db.execute("ROLLBACK")
            view._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # --- state ---------------------------------------------------------------------------
    def get_state(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM state WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_state(self, key: str, value: str, conn: sqlite3.Connection | None = None) -> None:
        (conn or self._db).execute(
            "INSERT INTO state(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )

    @property
    def contact_domains(self) -> list[str]:
        """E-mail domains the admin allowed articles to send readers to (planted.py)."""
        domains = json.loads(self.get_state("contact_domains") or "[]")
        return [str(d) for d in domains]

    def set_contact_domains(self, domains: Sequence[str]) -> None:
        with self.transaction() as conn:
            self.set_state("contact_domains", json.dumps(sorted(set(domains))), conn)
            self._bump(conn)  # what retrieval serves changes with them

    @property
    def trusted_sentences(self) -> list[str]:
        """Sentences the admin vouched for: never withheld as planted text (ingest/planted.py),
        whitespace folded."""
        return [str(t) for t in json.loads(self.get_state("trusted_sentences") or "[]")]

    def set_trusted_sentences(self, sentences: Sequence[str]) -> None:
        folded = sorted({" ".join(t.split()) for t in sentences if t.split()})
        with self.transaction() as conn:
            self.set_state("trusted_sentences", json.dumps(folded, ensure_ascii=False), conn)
            self._bump(conn)  # what retrieval serves changes with them

    @property
    def generation(self) -> int:
        """Bumped by every committed change; readers reload derived indexes when it moves."""
        return int(self.get_state("generation") or 0)

    def _bump(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO state(key, value) VALUES ('generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value=CAST(value AS INTEGER) + 1"
        )

    # --- documents -----------------------------------------------------------------------
    def hashes(self, root: str | None = None) -> dict[str, str]:
        if root is None:
            rows = self._db.execute("SELECT id, hash FROM documents")
        else:
            rows = self._db.execute("SELECT id, hash FROM documents WHERE root=?", (root,))
        return {row[0]: row[1] for row in rows}

    def chunk_ids(self, doc_id: str | None = None) -> set[str]:
        if doc_id is None:
            return {row[0] for row in self._db.execute("SELECT id FROM chunks")}
        return {
            row[0] for row in self._db.execute("SELECT id FROM chunks WHERE doc_id=?", (doc_id,))
        }

    def gists(self, chunk_ids: Sequence[str]) -> dict[str, bytes]:
        return self._blobs("gist", chunk_ids)

    def unit_vectors(self, chunk_ids: Sequence[str]) -> dict[str, bytes]:
        """Stored answer-unit embeddings per chunk (float32 rows, in unit order)."""
        return self._blobs("units", chunk_ids)

    def _blobs(self, column: str, chunk_ids: Sequence[str]) -> dict[str, bytes]:
        assert column in ("gist", "units")
        out: dict[str, bytes] = {}
        for start in range(0, len(chunk_ids), 500):
            part = list(chunk_ids[start : start + 500])
            marks = ",".join("?" * len(part))
            for cid, blob in self._db.execute(
                f"SELECT id, {column} FROM chunks WHERE id IN ({marks}) AND {column} IS NOT NULL",
                part,
            ):
                out[cid] = blob
        return out

    def put_document(
        self,
        doc: Document,
        root: str,
        chunks: Sequence[Chunk],
        gists: dict[str, bytes],
        card: bytes | None,
        units: dict[str, bytes] | None = None,
        planted: tuple[str, dict[str, list[tuple[str, float]]]] | None = None,
    ) -> None:
        """Replace a document and all its chunks in one transaction. ``planted``: the
        planted-text judge's digest and its flags per chunk (a chunk missing from them is
        left unjudged)."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM documents WHERE id=?", (doc.id,))
            conn.execute(
                "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    doc.id,
                    doc.kind,
                    doc.title,
                    doc.url,
                    doc.locale,
                    doc.audience,
                    doc.level,
                    doc.feature,
                    json.dumps(doc.tags),
                    doc.description,
                    doc.source,
                    root,
                    doc.content_hash(),
                    json.dumps(doc.extra, ensure_ascii=False),
                    datetime.now(UTC).isoformat(),
                    card,
                ),
            )
            conn.executemany(
                "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?)",
                [
                    (
                        c.id,
                        doc.id,
                        c.ord,
                        c.heading,
                        c.body,
                        gists.get(c.id),
                        (units or {}).get(c.id),
                        _planted_json(planted[0], planted[1][c.id])
                        if planted and c.id in planted[1] else None,
                    )
                    for c in chunks
                ],
            )
            self._bump(conn)

    def relocate(self, doc_id: str, source: str, root: str) -> None:
        """Record a document's new file (renamed or moved, content unchanged)."""
        with self.transaction() as conn:
            conn.execute("UPDATE documents SET source=?, root=? WHERE id=?", (source, root, doc_id))

    def delete_documents(self, doc_ids: Sequence[str]) -> None:
        if not doc_ids:
            return
        with self.transaction() as conn:
            conn.executemany("DELETE FROM documents WHERE id=?", [(d,) for d in doc_ids])
            self._bump(conn)

    def documents(self) -> list[DocumentRow]:
        rows = self._db.execute(f"SELECT {_DOCUMENT_COLUMNS} FROM documents ORDER BY id").fetchall()
        return [_document_row(r) for r in rows]

    def document(self, doc_id: str) -> DocumentRow | None:
        row = self._db.execute(
            f"SELECT {_DOCUMENT_COLUMNS} FROM documents WHERE id=?",
            (doc_id,),
        ).fetchone()
        return None if row is None else _document_row(row)

    def chunks_of(self, doc_id: str) -> list[ChunkRow]:
        rows = self._db.execute(
            f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE doc_id=? ORDER BY ord", (doc_id,)
        ).fetchall()
        return [_chunk_row(r) for r in rows]

    def chunks(self) -> list[ChunkRow]:
        rows = self._db.execute(
            f"SELECT {_CHUNK_COLUMNS} FROM chunks ORDER BY doc_id, ord"
        ).fetchall()
        return [_chunk_row(r) for r in rows]

    def unjudged(self, judge: str) -> list[ChunkRow]:
        """Chunks the planted-text judge ``judge`` (its digest) has not judged."""
        rows = self._db.execute(
            f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE planted IS NULL"
            " OR json_extract(planted, '$.judge') IS NOT ? ORDER BY doc_id, ord",
            (judge,),
        ).fetchall()
        return [_chunk_row(r) for r in rows]

    def set_planted(self, judge: str, flagged: dict[str, list[tuple[str, float]]]) -> None:
        """Record judge ``judge``'s flags for chunks (every chunk not named keeps its own);
        a new generation, since what is served changes."""
        if not flagged:
            return
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE chunks SET planted=? WHERE id=?",
                [(_planted_json(judge, found), cid) for cid, found in flagged.items()],
            )
            self._bump(conn)

    def gist_matrix(self, chunk_ids: Sequence[str], dim: int) -> np.ndarray:
        """Gist vectors in the order of ``chunk_ids``; zeros where a chunk has none."""
        return _matrix(self.gists(chunk_ids), chunk_ids, dim)

    def chunk_texts_with_language(self) -> list[tuple[str, str]]:
        from assistant.language import language_of_locale

        rows = self._db.execute(
            "SELECT c.heading, c.body, d.locale FROM chunks c JOIN documents d ON d.id = c.doc_id"
        ).fetchall()
        return [(f"{h}\n{b}", language_of_locale(loc)) for h, b, loc in rows]

    def terms(self) -> dict[str, tuple[list[str], np.ndarray]]:
        """Per language: the words and their vectors (rows in word order)."""
        out: dict[str, tuple[list[str], list[bytes]]] = {}
        for language, word, vector in self._db.execute(
            "SELECT language, word, vector FROM terms ORDER BY language, word"
        ):
            words, vectors = out.setdefault(language, ([], []))
            words.append(word)
            vectors.append(vector)
        return {
            language: (words, np.stack([np.frombuffer(v, dtype=np.float32) for v in vectors]))
            for language, (words, vectors) in out.items()
        }

    def term_words(self) -> set[tuple[str, str]]:
        return {(r[0], r[1]) for r in self._db.execute("SELECT language, word FROM terms")}

    def replace_terms(
        self, add: Sequence[tuple[str, str, bytes]], remove: Sequence[tuple[str, str]]
    ) -> None:
        if not add and not remove:
            return
        with self.transaction() as conn:
            conn.executemany("DELETE FROM terms WHERE language=? AND word=?", remove)
            conn.executemany("INSERT OR REPLACE INTO terms VALUES (?,?,?)", add)
            self._bump(conn)

    def card_matrix(self, doc_ids: Sequence[str], dim: int) -> np.ndarray:
        """Article card vectors in the order of ``doc_ids``; zeros where missing."""
        found = dict(self._db.execute("SELECT id, card FROM documents WHERE card IS NOT NULL"))
        return _matrix(found, doc_ids, dim)

    def counts(self) -> tuple[int, int]:
        docs = self._db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        chunks = self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return int(docs), int(chunks)


def _matrix(blobs: dict[str, bytes], ids: Sequence[str], dim: int) -> np.ndarray:
    """Stack float32 blobs in the order of ``ids``; a row stays zero where ``ids`` has none."""
    matrix = np.zeros((len(ids), dim), dtype=np.float32)
    for i, key in enumerate(ids):
        blob = blobs.get(key)
        if blob is not None:
            matrix[i] = np.frombuffer(blob, dtype=np.float32)
    return matrix


_CHUNK_COLUMNS = "id, doc_id, ord, heading, body, planted"


def _chunk_row(r: Any) -> ChunkRow:
    found = json.loads(r[5])["flagged"] if r[5] else []
    return ChunkRow(r[0], r[1], r[2], r[3], r[4], tuple((str(t), float(p)) for t, p in found))


def _planted_json(judge: str, found: list[tuple[str, float]]) -> str:
    return json.dumps({"judge": judge, "flagged": found}, ensure_ascii=False)


def _document_row(r: Any) -> DocumentRow:
    # A catalog written before URLs were checked at ingest may hold a javascript: one.
    url = r[3] if r[3] and is_web_address(r[3]) else None
    return DocumentRow(
        r[0],
        r[1],
        r[2],
        url,
        r[4],
        r[5],
        r[6],
        r[7],
        json.loads(r[8]),
        r[9],
        r[10],
        r[11],
        r[12],
        json.loads(r[13]),
    )
