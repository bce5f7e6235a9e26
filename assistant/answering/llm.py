"""The LLM answerer: any OpenAI-compatible endpoint writes the answer from numbered sources.

1. A request the guardrails refuse (aimed at the assistant itself, legal advice, other
   customers' data), or one whose retrieved passages the reader (reader.py) judges do not
   answer it — about something else than the product, or a gap in the help center — is left
   to the fallback, which declines it: it never reaches the model (a model handed passages
   without the answer guesses one).
2. Retrieve the top articles as the extractive answerer does; their best passages become
   sources [1]..[n], delimited as data and fitted to ``llm_context_tokens`` (prompting.py).
3. The model streams its answer; citations are renumbered as the text arrives.
4. The grounding guard (grounding.py) checks the finished text. "I don't know" becomes a
   declined answer with a handoff; an unsupported answer, a timeout, a refused connection or
   any other error from the endpoint becomes the fallback's (extractive) answer, with the
   reason kept in ``LlmAnswer.fallback_reason`` and logged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from assistant.answering.answers import Answer, Answerer, Citation, Handoff
from assistant.answering.grounding import CitationStream, GroundingGuard, Renumbering
from assistant.answering.prompting import Source, build_messages, fit_sources, sources_from
from assistant.guardrails import decline_reason
from assistant.knowledge.retrieval import Retriever
from assistant.language import detect_language
from assistant.messages import by_language

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from assistant.models.embeddings import Embedder
    from assistant.settings import Settings

__all__ = ["LlmAnswer", "LlmAnswerer", "chat_model"]

logger = logging.getLogger(__name__)

_ARTICLES = 3  # sources offered to the model: the extractive answerer reads the same three
_DONT_KNOW = re.compile(
    r"^\W*(i\s+don[’']?t\s+know|i\s+do\s+not\s+know|no\s+lo\s+s[eé]|no\s+s[eé])\b", re.IGNORECASE
)
# A list of sources the model appends on its own: the answer gets its own list instead.
_SOURCES_SECTION = re.compile(
    r"\n\s*(?:\*\*|#+\s*)?(?:sources|fuentes|references|referencias)\s*:?(?:\*\*)?\s*:?\s*\n.*\Z",
    re.IGNORECASE | re.DOTALL,
)
_DECLINE = by_language("model_declined")
_SOURCES = by_language("sources")


@dataclass
class LlmAnswer(Answer):
    """An ``Answer`` plus how it was made. ``as_dict()`` keeps the public shape of ``Answer``.

    - ``generated_by``: ``"llm"`` (the model's answer passed the guard, or the model said it
      does not know) or ``"extractive"`` (the fallback answered instead).
    - ``fallback_reason``: why the fallback answered (guard verdict, timeout, error), or None.
    - ``stream_replaced``: True when the streamed text must not stay on screen: the answer is
      the fallback's or a decline, not what the model streamed.
    """

    generated_by: Literal["llm", "extractive"] = "llm"
    fallback_reason: str | None = None
    stream_replaced: bool = False

    def as_dict(self) -> dict[str, Any]:
        out = super().as_dict()
        for name in ("generated_by", "fallback_reason", "stream_replaced"):
            out.pop(name)
        return out


def chat_model(settings: Settings) -> BaseChatModel:
    """``ChatOpenAI`` for the configured endpoint: no retries (the fallback is the retry)."""
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    # Local servers (llama.cpp, Ollama, vLLM) take any key; the client insists on one and
    # would otherwise read OPENAI_API_KEY from the environment behind the settings' back.
    key = settings.llm_api_key or SecretStr("unused")
    # langchain sends the answer limit as ``max_completion_tokens``, which OpenAI requires of
    # its newer models but llama.cpp's server ignores (it would write until its context is
    # full); other servers get the classic ``max_tokens`` as well. OpenAI rejects both at once.
    host = urlsplit(settings.llm_base_url or "").hostname or ""
    openai_proper = host.endswith(("openai.com", "openai.azure.com"))
    return ChatOpenAI(
        model=settings.llm_model,
        base_url=settings.llm_base_url,
        api_key=key,
        timeout=settings.llm_timeout,
        max_retries=0,
        max_completion_tokens=settings.llm_max_tokens,
        extra_body=None if openai_proper else {"max_tokens": settings.llm_max_tokens},
        temperature=0,
    )


# Why a question is declined before the model sees it (None: ask the model).
ScopeCheck = Callable[[str, dict[str, object] | None], str | None]


def _guardrails_only(question: str, filters: dict[str, object] | None) -> str | None:
    return decline_reason(question)


class LlmAnswerer:
    """Answers with an LLM behind the grounding guard, falling back to ``fallback``.

    ``scope`` decides which questions never reach the model (the guardrails by default;
    ``make_answerer`` passes the extractive answerer's off-topic check as well)."""

    def __init__(
        self,
        retriever: Retriever,
        chat: BaseChatModel,
        guard: GroundingGuard,
        fallback: Answerer,
        context_tokens: int = 2000,
        scope: ScopeCheck = _guardrails_only,
    ) -> None:
        self.retriever = retriever
        self.chat = chat
        self.guard = guard
        self.fallback = fallback
        self.context_tokens = context_tokens
        self.scope = scope

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        retriever: Retriever,
        embedder: Embedder,
        fallback: Answerer,
        crosslingual: Embedder | None = None,
        scope: ScopeCheck = _guardrails_only,
    ) -> LlmAnswerer:
        return cls(
            retriever,
            chat_model(settings),
            GroundingGuard(embedder, crosslingual),
            fallback,
            settings.llm_context_tokens,
            scope,
        )

    def answer(self, question: str, filters: dict[str, object] | None = None) -> LlmAnswer:
        final: LlmAnswer | None = None
        for item in self.stream(question, filters):
            if isinstance(item, LlmAnswer):
                final = item
        assert final is not None
        return final

    def stream(
        self, question: str, filters: dict[str, object] | None = None
    ) -> Iterator[str | LlmAnswer]:
        """Yield the answer's text as the model writes it, then the final ``LlmAnswer``.

        Every item but the last is a ``str`` chunk of the model's text (citations already
        renumbered as in the final answer); the last item is always the ``LlmAnswer``, which is
        what to store and what the client keeps. Render the chunks as a preview, then replace
        it with ``final.answer``: when ``final.stream_replaced`` is True the model's text was
        rejected (fallback or decline, reason in ``final.fallback_reason``) and the preview
        must be withdrawn, not merely completed. There may be no chunk at all (the request
        never reached the model). Bad input (an empty question, unknown filters) raises
        ``LearnloopError`` before anything is yielded. The iterator is synchronous and
        blocking: run it in a thread (e.g. ``starlette.concurrency.iterate_in_threadpool``).
        Closing it early closes the connection to the model.
        """
        language = detect_language(question)
        refused = self.scope(question, filters)  # the same rules as the extractive answerer
        if refused is not None:
            yield self._fallback(question, filters, refused)
            return
        hits = self.retriever.search(question, k=_ARTICLES, filters=filters)
        sources = fit_sources(sources_from(hits), self.context_tokens)
        if not sources:
            yield self._fallback(question, filters, "no source to give the model")
            return
        renumbering = Renumbering()
        preview = CitationStream(renumbering)
        parts: list[str] = []
        try:
            for chunk in self.chat.stream(build_messages(question, sources, language)):
                text = str(chunk.text)
                if not text:
                    continue
                parts.append(text)
                shown = preview.feed(text)
                if shown:
                    yield shown
        except Exception as error:  # every endpoint failure ends the same way: the fallback
            reason = f"LLM request failed: {type(error).__name__}: {error}"
            yield self._fallback(question, filters, reason, streamed=bool(parts))
            return
        tail = preview.flush()
        if tail:
            yield tail
        yield self._finish(question, filters, "".join(parts), sources, language)

    def _finish(
        self,
        question: str,
        filters: dict[str, object] | None,
        raw: str,
        sources: Sequence[Source],
        language: str,
    ) -> LlmAnswer:
        body = _SOURCES_SECTION.sub("", raw).strip()
        if not body:
            return self._fallback(
                question, filters, "the model wrote no answer", streamed=bool(raw)
            )
        if _DONT_KNOW.match(body):
            return LlmAnswer(
                answer=_DECLINE.get(language, _DECLINE["en"]),
                citations=[],
                confidence=0.0,
                answered=False,
                handoff=Handoff(True, "the model found no answer in the sources"),
                language=language,
                stream_replaced=True,
            )
        grounding = self.guard.check(body, sources)
        if not grounding.ok:
            reason = f"grounding guard: {grounding.reason}"
            return self._fallback(question, filters, reason, streamed=True)
        renumbering = Renumbering()
        text = renumbering.rewrite(body)
        by_number = {s.n: s for s in sources}
        citations = [
            Citation(new, s.article_id, s.title, s.hit.url, s.hit.snippet)
            for old, new in renumbering.numbers.items()
            for s in [by_number[old]]
        ]
        listing = "\n".join(
            f"[{c.n}] {c.title}" + (f" — {c.url}" if c.url else "") for c in citations
        )
        return LlmAnswer(
            answer=f"{text}\n\n{_SOURCES.get(language, 'Sources')}:\n{listing}",
            citations=citations,
            confidence=grounding.support,
            answered=True,
            handoff=Handoff(False),
            language=language,
        )

    def _fallback(
        self,
        question: str,
        filters: dict[str, object] | None,
        reason: str,
        streamed: bool = False,
    ) -> LlmAnswer:
        logger.warning("LLM answer replaced by the extractive answer: %s", reason)
        answer = self.fallback.answer(question, filters)
        values = {f.name: getattr(answer, f.name) for f in fields(Answer)}
        return LlmAnswer(
            **values, generated_by="extractive", fallback_reason=reason, stream_replaced=streamed
        )
