"""Which answerer serves a knowledge base: extractive (the default) or LLM, from settings."""

from __future__ import annotations

from assistant.answers import Answerer
from assistant.errors import ErrorCode, LearnloopError
from assistant.extractive import ExtractiveAnswerer
from assistant.knowledge_base import Knowledge, KnowledgeBase
from assistant.settings import Settings

__all__ = ["check_answerer_settings", "make_answerer"]


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
    retriever = knowledge.retriever(kb)
    extractive = ExtractiveAnswerer(
        retriever,
        knowledge.embedder,
        off_topic=knowledge.off_topic,
        request_kinds=knowledge.request_kinds,
        pair_judge=knowledge.pair_judge,
    )
    if settings.answerer == "extractive":
        return extractive
    from assistant.llm_answerer import LlmAnswerer  # langchain is imported only when used

    return LlmAnswerer.from_settings(
        settings,
        retriever,
        knowledge.embedder,
        extractive,
        crosslingual=knowledge.gist_embedder,
        scope=extractive.refusal,
    )
