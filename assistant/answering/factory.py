"""Which answerer serves a knowledge base: extractive (the default) or LLM, from settings."""

from __future__ import annotations

import threading

from assistant.answering.answers import Answerer
from assistant.answering.extractive import ExtractiveAnswerer
from assistant.errors import ErrorCode, LearnloopError
from assistant.knowledge.base import Knowledge, KnowledgeBase
from assistant.knowledge.retrieval import Retriever
from assistant.settings import Settings

__all__ = ["Answerers", "check_answerer_settings", "make_answerer"]


def check_answerer_settings(settings: Settings) -> None:
    """Raise ``LearnloopError`` if the configured answerer cannot work (call at startup)."""
    if settings.answerer == "llm" and not (settings.llm_base_url or "").strip():
        raise LearnloopError(
            ErrorCode.invalid_input,
            "LEARNLOOP_ANSWERER=llm needs LEARNLOOP_LLM_BASE_URL, the OpenAI-compatible endpoint "
            "(for example https://api.openai.com/v1 or http://127.0.0.1:8080/v1)",
        )


def make_answerer(settings: Settings, knowledge: Knowledge, kb: KnowledgeBase) -> Answerer:
    """The answerer for ``kb`` chosen by ``settings.answerer``.

    ``"extractive"`` gives an ``ExtractiveAnswerer``; ``"llm"`` gives an ``LlmAnswerer`` that
    falls back to the extractive one (``LEARNLOOP_LLM_BASE_URL`` required, else
    ``LearnloopError``). Both share ``knowledge``'s loaded models and the KB's retriever, hold
    no per-request state and are safe to use from several threads: build one per knowledge
    base and keep it. Call ``answer(question, filters)`` for a whole ``Answer``; to stream,
    check ``isinstance(answerer, LlmAnswerer)`` and iterate ``answerer.stream(question,
    filters)`` (see its docstring); the extractive answerer has nothing to stream.
    """
    check_answerer_settings(settings)
    retriever = Retriever.of(knowledge, kb)
    extractive = ExtractiveAnswerer(
        retriever,
        knowledge.embedder,
        off_topic=knowledge.off_topic,
        request_kinds=knowledge.request_kinds,
        pair_judge=knowledge.pair_judge,
        planted_text=knowledge.planted_text,
    )
    if settings.answerer == "extractive":
        return extractive
    from assistant.answering.llm import LlmAnswerer  # langchain is imported only when used

    return LlmAnswerer.from_settings(
        settings,
        retriever,
        knowledge.embedder,
        extractive,
        crosslingual=knowledge.gist_embedder,
        scope=extractive.refusal,
    )


class Answerers:
    """One answerer per knowledge base, built on first use and kept: an answerer holds no
    per-request state, and its retriever follows the knowledge base to each new generation
    (an ingest) by itself, so nothing here needs rebuilding after a sync."""

    def __init__(self, settings: Settings, knowledge: Knowledge) -> None:
        check_answerer_settings(settings)
        self._settings = settings
        self._knowledge = knowledge
        self._built: dict[str, Answerer] = {}
        self._lock = threading.Lock()

    def for_kb(self, kb: KnowledgeBase) -> Answerer:
        with self._lock:
            answerer = self._built.get(kb.key)
            if answerer is None:
                answerer = make_answerer(self._settings, self._knowledge, kb)
                self._built[kb.key] = answerer
            return answerer
