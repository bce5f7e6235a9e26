"""Bring a knowledge base in line with a folder of knowledge files.

Incremental and atomic per document:
- a document whose content hash is unchanged is skipped (no parsing cost beyond reading it,
  no embedding);
- chunk ids are content-addressed, so an edited document re-embeds only the chunks that
  changed, and vectors already in Chroma are reused;
- a document becomes visible when its catalog transaction commits (vectors are written
  first, stale vectors removed after), and the run ends by reconciling Chroma with the
  catalog, so a crash at any point leaves whole documents only;
- documents whose file disappeared are removed from the catalog, Chroma and BM25; a file
  that fails to parse is reported and its previously ingested version is kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from assistant.access.registry import DEFAULT_TENANT
from assistant.answering.passages import split_units
from assistant.errors import ErrorCode, LearnloopError
from assistant.knowledge.base import Knowledge, KnowledgeBase
from assistant.knowledge.catalog import ChunkRow
from assistant.knowledge.documents import Chunk, Document, chunk_metadata
from assistant.knowledge.lexical import LexicalIndex
from assistant.knowledge.trust import ContactDomains, normalize_domains, untrusted_sentences
from assistant.language import language_of_locale
from assistant.models.crosslingual import vocabulary_from
from assistant.models.embeddings import WordPieceCounter
from assistant.models.planted_text import PlantedText
from ingest.chunking import Chunker
from ingest.loaders import LoadResult, discover, load_file
from ingest.planted import HelpCenter, chunk_pieces, judge_chunks
from ingest.sources import SourceTree
from ingest.tickets import TicketLoad, discover_tickets, load_tickets

__all__ = ["SyncReport", "rebuild_lexical", "sync_path"]

_GROUP = 24  # documents embedded together: big enough batches, small enough to show progress


@dataclass
class SyncReport:
    """What a run did. Documents: added, updated, unchanged, removed (ids). Files: ingested
    (one of their documents added or updated), unchanged, skipped and failed (each with the
    reason), and the warnings a loader raised for a file it still ingested."""

    kb: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    # (file, reason, sentence): text that is stored but never served (planted.py)
    untrusted: list[tuple[str, str, str]] = field(default_factory=list)
    files_ingested: list[str] = field(default_factory=list)
    files_unchanged: list[str] = field(default_factory=list)
    # Solved tickets (``tickets=True``): each skipped or failed one as (file, ticket, reason).
    tickets: bool = False
    tickets_skipped: list[tuple[str, str, str]] = field(default_factory=list)
    tickets_failed: list[tuple[str, str, str]] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_total: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.tickets_failed

    def as_dict(self) -> dict[str, Any]:
        found = self._as_dict()
        if self.tickets:
            found["tickets"] = {
                "ingested": len(self.added) + len(self.updated),
                "unchanged": len(self.unchanged),
                "removed": len(self.removed),
                "skipped": [
                    {"file": f, "ticket": t, "reason": r} for f, t, r in self.tickets_skipped
                ],
                "failed": [
                    {"file": f, "ticket": t, "reason": r} for f, t, r in self.tickets_failed
                ],
            }
        return found

    def _as_dict(self) -> dict[str, Any]:
        return {
            "kb": self.kb,
            "added": len(self.added),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "removed": len(self.removed),
            "failed": [{"file": f, "reason": r} for f, r in self.failed],
            "files": {
                "ingested": len(self.files_ingested),
                "unchanged": len(self.files_unchanged),
                "skipped": len(self.skipped),
                "failed": len(self.failed),
            },
            "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
            "skipped_files": len(self.skipped),
            "warnings": [{"file": f, "message": m} for f, m in self.warnings],
            "untrusted": [
                {"file": f, "reason": r, "sentence": s} for f, r, s in self.untrusted
            ],
            "chunks_embedded": self.chunks_embedded,
            "chunks_total": self.chunks_total,
            "seconds": round(self.seconds, 2),
        }


def sync_path(
    knowledge: Knowledge,
    kb_name: str,
    path: Path,
    base_url: str | None = None,
    progress: bool = False,
    tenant: str = DEFAULT_TENANT,
    contact_domains: Sequence[str] | None = None,
    trusted_sentences: Sequence[str] | None = None,
    tickets: bool = False,
) -> SyncReport:
    """Ingest ``path`` into ``kb_name``. ``progress`` shows a bar that counts files: one is
    done when it is read (failed, skipped, unchanged) or when its documents are written.
    ``contact_domains``: e-mail domains the articles may send readers to besides the site's
    own (kept for the knowledge base; ``None`` keeps the ones set before).
    ``trusted_sentences``: sentences the planted-text judge flagged that the admin vouches
    for: served and no longer reported (kept likewise).
    ``tickets``: ``path`` holds solved support tickets (ingest/tickets.py), stored in the
    knowledge base's agent-only ticket collection (``Knowledge.tickets``), not in it."""
    if not path.exists():
        raise LearnloopError(ErrorCode.invalid_input, f"{path} does not exist")
    started = time.perf_counter()
    root = path.resolve()
    kb = (
        knowledge.tickets(kb_name, create=True, tenant=tenant)
        if tickets
        else knowledge.get(kb_name, create=True, tenant=tenant)
    )
    report = SyncReport(kb=kb_name, tickets=tickets)
    lock = kb.write_lock()
    try:
        _check_embedder(knowledge, kb)
        if contact_domains is not None:
            kb.catalog.set_contact_domains(normalize_domains(contact_domains))
        if trusted_sentences is not None:
            kb.catalog.set_trusted_sentences(trusted_sentences)
        allowed = kb.catalog.contact_domains
        files, skipped = discover_tickets(root) if tickets else discover(root)
        report.skipped = [(_rel(p, root), reason) for p, reason in skipped]
        stored = {row.id: row for row in kb.catalog.documents()}
        bar = tqdm(total=len(files), desc=f"ingest {kb.name}", unit="file", disable=not progress)
        tree = SourceTree(root)
        owner: dict[str, str] = {}
        seen: set[str] = set()
        changed: list[Document] = []
        pending: dict[str, int] = {}  # file → its changed documents not yet written
        for file in files:
            result = load_tickets(file, root) if tickets else load_file(file, root, base_url, tree)
            if isinstance(result, TicketLoad):
                seen.update(_ticket_outcomes(result, owner, report))
            docs = _accept(result, owner, report)
            seen.update(d.id for d in docs)
            report.untrusted.extend(_untrusted(result.rel, docs, allowed))
            fresh = 0
            for doc in docs:
                row = stored.get(doc.id)
                if row is not None and row.hash == doc.content_hash():
                    report.unchanged.append(doc.id)
                    if (row.source, row.root) != (doc.source, str(root)):  # moved or renamed
                        kb.catalog.relocate(doc.id, doc.source, str(root))
                else:
                    changed.append(doc)
                    (report.updated if row is not None else report.added).append(doc.id)
                    fresh += 1
            if fresh:
                pending[result.rel] = fresh
                report.files_ingested.append(result.rel)
            else:
                if docs:
                    report.files_unchanged.append(result.rel)
                bar.update(1)
        failed_files = {rel for rel, _ in report.failed}
        # Documents of this folder whose file is gone; a file that failed to parse keeps its
        # previously ingested version.
        gone = [
            row.id
            for row in stored.values()
            if row.root == str(root) and row.id not in seen and row.source not in failed_files
        ]

        def written(doc: Document) -> None:
            pending[doc.source] -= 1
            if not pending[doc.source]:
                bar.update(1)

        judging = _Judging.of(knowledge, kb)
        _write(knowledge, kb, changed, str(root), report, written, judging)
        bar.close()
        _remove(kb, gone)
        report.removed = gone
        judging.catch_up(kb)
        listed = {(file, " ".join(sentence.split())) for file, _, sentence in report.untrusted}
        report.untrusted.extend(
            found for found in _planted(kb, str(root)) if (found[0], found[2]) not in listed
        )
        _reconcile(knowledge, kb, report)
        _update_terms(knowledge, kb)
        rebuild_lexical(kb)
        report.chunks_total = kb.catalog.counts()[1]
    finally:
        lock.release()
    report.seconds = time.perf_counter() - started
    return report


def _rel(path: Path, root: Path) -> str:
    return path.name if root.is_file() else path.relative_to(root).as_posix()


def _accept(result: LoadResult, owner: dict[str, str], report: SyncReport) -> list[Document]:
    """A file's parsed documents, or none when it failed, was skipped, or reuses an id that
    an earlier file holds (each reported by file)."""
    report.warnings.extend((result.rel, w) for w in result.warnings)
    if result.error:
        report.failed.append((result.rel, result.error))
        return []
    if result.skipped:
        report.skipped.append((result.rel, result.skipped))
        return []
    if not result.documents:
        report.skipped.append((result.rel, "no documents in it"))
        return []
    clash = next((d.id for d in result.documents if d.id in owner), None)
    if clash is not None:
        used_by = f"article id '{clash}' is already used by {owner[clash]}"
        report.failed.append((result.rel, used_by))
        return []
    for doc in result.documents:
        owner[doc.id] = result.rel
    return result.documents


def _ticket_outcomes(load: TicketLoad, owner: dict[str, str], report: SyncReport) -> list[str]:
    """Report a tickets file's skipped and failed tickets, and fail alone a ticket that an
    earlier file of the run holds (overlapping exports). Returns the ids whose stored
    version stays."""
    report.tickets_skipped.extend((load.rel, t, r) for t, r in load.tickets_skipped)
    report.tickets_failed.extend((load.rel, t, r) for t, r in load.tickets_failed)
    kept = list(load.kept)
    fresh: list[Document] = []
    for doc in load.documents:
        if doc.id in owner:
            number = doc.id.removeprefix("ticket/")
            reason = f"ticket #{number} is already ingested from {owner[doc.id]}"
            report.tickets_failed.append((load.rel, f"ticket #{number}", reason))
        else:
            fresh.append(doc)
    load.documents = fresh
    if not fresh and not load.error and not load.skipped:
        # Every ticket of the file was skipped or failed: each is reported already.
        load.skipped = "no solved ticket in it"
    return kept


def _untrusted(
    rel: str, docs: list[Document], allowed: Sequence[str]
) -> list[tuple[str, str, str]]:
    """The sentences of a file's documents that retrieval will never serve, for the admin."""
    found: list[tuple[str, str, str]] = []
    for doc in docs:
        text = "\n".join(section.text for section in doc.sections)
        domains = ContactDomains.of(doc.url, allowed)
        found.extend((rel, u.reason, u.sentence) for u in untrusted_sentences(text, domains))
    return found


def _check_embedder(knowledge: Knowledge, kb: KnowledgeBase) -> None:
    """Vectors from another embedder are incomparable: start the dense index over."""
    wanted = knowledge.settings.embedder
    if kb.store.embedder != wanted or kb.catalog.get_state("embedder") not in (None, wanted):
        kb.store.reset(wanted)
        with kb.catalog.transaction() as conn:
            conn.execute("UPDATE documents SET hash = ''")
    kb.catalog.set_state("embedder", wanted)


def _write(
    knowledge: Knowledge,
    kb: KnowledgeBase,
    docs: list[Document],
    root: str,
    report: SyncReport,
    written: Callable[[Document], None],
    judging: _Judging,
) -> None:
    if not docs:
        return
    chunker = Chunker(WordPieceCounter())
    every = [(doc, chunker.chunk(doc)) for doc in docs]
    # Every answer unit first: a piece is judged against the whole help center as it will
    # be (ingest/planted.py), not against the part written so far, so a judgement does not
    # depend on the order files are read in.
    all_units = _embed_units(knowledge, kb, [c for _, cs in every for c in cs])
    judging.add(all_units)
    for start in range(0, len(every), _GROUP):
        chunked = every[start : start + _GROUP]
        group = [doc for doc, _ in chunked]
        all_chunks = [c for _, cs in chunked for c in cs]
        meta = {c.id: {**doc.metadata(), "ord": c.ord} for doc, cs in chunked for c in cs}
        report.chunks_embedded += _embed_dense(knowledge, kb, all_chunks, meta)
        gists = _embed_gists(knowledge, kb, all_chunks)
        units = {c.id: all_units[c.id] for c in all_chunks}
        cards = knowledge.embedder.embed_documents([doc.card() for doc in group])
        planted = judging.judge(
            all_chunks, units, {doc.id: card for (doc, _), card in zip(chunked, cards, strict=True)}
        )
        for (doc, chunks), card in zip(chunked, cards, strict=True):
            stale = kb.catalog.chunk_ids(doc.id) - {c.id for c in chunks}
            card_blob = card.astype(np.float32).tobytes()
            kb.catalog.put_document(
                doc, root, chunks, gists, card_blob, units, (judging.digest, planted)
            )
            kb.store.delete(sorted(stale))
            written(doc)


def _embed_dense(
    knowledge: Knowledge,
    kb: KnowledgeBase,
    chunks: Sequence[Chunk],
    meta: dict[str, dict[str, Any]],
) -> int:
    have = kb.store.existing([c.id for c in chunks])
    todo = [c for c in chunks if c.id not in have]
    if todo:
        vectors = knowledge.embedder.embed_documents([c.text for c in todo])
        kb.store.upsert([c.id for c in todo], vectors, [meta[c.id] for c in todo])
    return len(todo)


def _embed_gists(
    knowledge: Knowledge, kb: KnowledgeBase, chunks: Sequence[Chunk]
) -> dict[str, bytes]:
    gists = kb.catalog.gists([c.id for c in chunks])
    embedder = knowledge.gist_embedder
    todo = [c for c in chunks if c.id not in gists]
    if embedder is not None and todo:
        vectors = embedder.embed_documents([c.text for c in todo])
        for chunk, vector in zip(todo, vectors, strict=True):
            gists[chunk.id] = np.asarray(vector, dtype=np.float32).tobytes()
    return gists


def _embed_units(
    knowledge: Knowledge, kb: KnowledgeBase, chunks: Sequence[Chunk]
) -> dict[str, bytes]:
    """Embed each chunk's answer units once, here, so answering needs no embedding but the
    question's (a chunk already in the catalog keeps its stored vectors)."""
    stored = kb.catalog.unit_vectors([c.id for c in chunks])
    todo = [(c.id, split_units(c.body)) for c in chunks if c.id not in stored]
    texts = [u.gist for _, units in todo for u in units if u.quotable]
    vectors = iter(knowledge.embedder.embed_documents(texts)) if texts else iter(())
    for chunk_id, units in todo:
        matrix = np.zeros((len(units), knowledge.embedder.dim), dtype=np.float32)
        for row, unit in enumerate(units):
            if unit.quotable:  # the answerer never quotes the others: leave them zero
                matrix[row] = next(vectors)
        stored[chunk_id] = matrix.tobytes()
    return stored


class _Judging:
    """The planted-text judge over one knowledge base during an ingest (ingest/planted.py):
    every unit vector stored so far is the help center a new piece is compared with."""

    def __init__(
        self, knowledge: Knowledge, judge: PlantedText | None, centre: HelpCenter
    ) -> None:
        self.knowledge = knowledge
        self.planted_text = judge
        self.digest = judge.digest if judge else ""
        self.centre = centre

    @classmethod
    def of(cls, knowledge: Knowledge, kb: KnowledgeBase) -> _Judging:
        judge = knowledge.planted_text
        if judge is None:
            return cls(knowledge, None, HelpCenter())
        stored = kb.catalog.unit_vectors(sorted(kb.catalog.chunk_ids()))
        return cls(knowledge, judge, HelpCenter.of(_matrices(stored, knowledge.embedder.dim)))

    def add(self, units: dict[str, bytes]) -> None:
        """Units about to be written: part of the help center new pieces are judged in."""
        if self.planted_text is not None:
            self.centre.add(_matrices(units, self.knowledge.embedder.dim))

    def judge(
        self,
        chunks: Sequence[Chunk | ChunkRow],
        units: dict[str, bytes],
        cards: dict[str, np.ndarray],
    ) -> dict[str, list[tuple[str, float]]]:
        """The flagged pieces of ``chunks`` (none judged without a judge)."""
        if self.planted_text is None:
            return {}
        matrices = _matrices(units, self.knowledge.embedder.dim)
        pieces = chunk_pieces(chunks, matrices, self.knowledge.embedder)
        return judge_chunks(self.planted_text, pieces, cards, self.centre)

    def catch_up(self, kb: KnowledgeBase) -> None:
        """Judge the chunks this judge has not judged (a knowledge base ingested before it
        existed, or by an earlier judge)."""
        if self.planted_text is None:
            return
        rows = kb.catalog.unjudged(self.digest)
        dim = self.knowledge.embedder.dim
        for start in range(0, len(rows), 500):
            part = rows[start : start + 500]
            doc_ids = sorted({r.doc_id for r in part})
            cards = dict(zip(doc_ids, kb.catalog.card_matrix(doc_ids, dim), strict=True))
            units = kb.catalog.unit_vectors([r.id for r in part])
            kb.catalog.set_planted(self.digest, self.judge(part, units, cards))


def _matrices(blobs: dict[str, bytes], dim: int) -> dict[str, np.ndarray]:
    return {
        cid: np.frombuffer(blob, dtype=np.float32).reshape(-1, dim) for cid, blob in blobs.items()
    }


def _planted(kb: KnowledgeBase, root: str) -> list[tuple[str, str, str]]:
    """Every piece the judge flagged in this folder's documents and the admin did not vouch
    for, for the admin."""
    sources = {d.id: d.source for d in kb.catalog.documents() if d.root == root}
    trusted = set(kb.catalog.trusted_sentences)
    return [
        (sources[row.doc_id], "planted text", text)
        for row in kb.catalog.chunks()
        if row.planted and row.doc_id in sources
        for text, _ in row.planted
        if text not in trusted
    ]


def _remove(kb: KnowledgeBase, doc_ids: Iterable[str]) -> None:
    ids = list(doc_ids)
    if not ids:
        return
    chunk_ids = sorted(c for d in ids for c in kb.catalog.chunk_ids(d))
    kb.catalog.delete_documents(ids)
    kb.store.delete(chunk_ids)


def _reconcile(knowledge: Knowledge, kb: KnowledgeBase, report: SyncReport) -> None:
    """Make Chroma hold exactly the catalog's chunks (repairs interrupted runs)."""
    in_store = kb.store.ids()
    in_catalog = kb.catalog.chunk_ids()
    strays = sorted(in_store - in_catalog)
    if strays:
        kb.store.delete(strays)
    missing = in_catalog - in_store
    if missing:
        rows = [r for r in kb.catalog.chunks() if r.id in missing]
        docs = {d.id: d for d in kb.catalog.documents()}
        vectors = knowledge.embedder.embed_documents([r.text for r in rows])
        metas = [{**chunk_metadata(docs[r.doc_id]), "ord": r.ord} for r in rows]
        kb.store.upsert([r.id for r in rows], vectors, metas)
        report.chunks_embedded += len(rows)


def _update_terms(knowledge: Knowledge, kb: KnowledgeBase) -> None:
    """Embed the knowledge base's new frequent words (for cross-language questions)."""
    if not knowledge.settings.multilingual:
        return
    wanted = {
        (language, word)
        for language, words in vocabulary_from(kb.catalog.chunk_texts_with_language()).items()
        for word in words
    }
    have = kb.catalog.term_words()
    new = sorted(wanted - have)
    embedder = knowledge.gist_embedder
    if not new or embedder is None:
        vectors = np.zeros((0, 1), dtype=np.float32)
    else:
        vectors = embedder.embed_documents([word for _, word in new])
    kb.catalog.replace_terms(
        [
            (language, word, np.asarray(v, dtype=np.float32).tobytes())
            for (language, word), v in zip(new, vectors, strict=True)
        ],
        sorted(have - wanted),
    )


def rebuild_lexical(kb: KnowledgeBase, force: bool = False) -> LexicalIndex:
    generation = kb.catalog.generation
    current = LexicalIndex.load(kb.lexical_dir)
    if current is not None and current.generation == generation and not force:
        return current
    locales = {d.id: d.locale for d in kb.catalog.documents()}
    rows = kb.catalog.chunks()
    index = LexicalIndex.build(
        [r.id for r in rows],
        [r.text for r in rows],
        [language_of_locale(locales[r.doc_id]) for r in rows],
        generation,
    )
    index.save(kb.lexical_dir)
    return index
