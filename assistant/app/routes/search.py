"""``POST /v1/search``: ranked articles for a question, one entry per article."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from assistant.app.deps import CallerDep, KnowledgeDep, SettingsDep
from assistant.chat.turns import ASKING_ROLES
from assistant.errors import ErrorCode, LearnloopError
from assistant.knowledge.retrieval import Mode, Retriever

__all__ = ["SearchRequest", "SearchResponse", "router"]

router = APIRouter(prefix="/v1", tags=["search"])


FilterValue = Annotated[str, StringConstraints(min_length=1, max_length=64)]
FilterValues = FilterValue | Annotated[list[FilterValue], Field(min_length=1, max_length=20)]


class SearchFilters(BaseModel):
    model_config = {"extra": "forbid"}

    locale: FilterValues | None = None
    audience: FilterValues | None = None
    level: FilterValues | None = None
    kind: FilterValues | None = None


class SearchRequest(BaseModel):
    model_config = {"extra": "forbid"}

    query: str = Field(
        min_length=1, description="The question, as typed (at most LEARNLOOP_MAX_QUERY_CHARS)."
    )
    kb: str = Field(min_length=1, max_length=60, description="Knowledge base name.")
    k: int = Field(default=5, ge=1, description="How many articles (at most LEARNLOOP_MAX_K).")
    filters: SearchFilters | None = None
    mode: Mode = Field(
        default="hybrid", description="Retrieval mode; the others exist to compare and debug."
    )


class SearchResult(BaseModel):
    article_id: str
    title: str
    url: str | None
    score: float
    snippet: str


class SearchResponse(BaseModel):
    results: list[SearchResult]


@router.post("/search", response_model=SearchResponse)
async def search(
    body: SearchRequest, caller: CallerDep, knowledge: KnowledgeDep, settings: SettingsDep
) -> dict[str, Any]:
    caller.require(*ASKING_ROLES)
    if len(body.query) > settings.max_query_chars:
        raise LearnloopError(
            ErrorCode.invalid_input,
            f"query is {len(body.query)} characters; the limit is {settings.max_query_chars}",
        )
    if body.k > settings.max_k:
        raise LearnloopError(
            ErrorCode.invalid_input, f"k is {body.k}; the limit is {settings.max_k}"
        )
    filters = body.filters.model_dump(exclude_none=True) if body.filters else {}
    kb = knowledge.get(body.kb, tenant=caller.tenant)
    retriever = Retriever.of(knowledge, kb)
    hits = await run_in_threadpool(retriever.search, body.query, body.k, filters, body.mode)
    return {"results": [h.as_dict() for h in hits]}


@router.get("/me")
async def who_am_i(caller: CallerDep) -> dict[str, Any]:
    """Who the credential stands for: tenant, role and, for an end user, user and account
    (the chat page uses it to attribute the clicks and feedback it logs)."""
    return {
        "tenant": caller.tenant,
        "role": caller.role,
        "user_id": caller.user_id,
        "account_id": caller.account_id,
        "user_role": caller.user_role,
        "locale": caller.locale,
    }


@router.get("/knowledge-bases")
async def list_knowledge_bases(caller: CallerDep, knowledge: KnowledgeDep) -> dict[str, Any]:
    """The caller's tenant's knowledge bases."""
    return {"knowledge_bases": knowledge.names(caller.tenant)}


@router.get("/articles/{article_id:path}")
async def get_article(
    article_id: str, kb: str, caller: CallerDep, knowledge: KnowledgeDep
) -> dict[str, Any]:
    """One article as ingested: metadata and its text, chunk by chunk in reading order."""
    caller.require(*ASKING_ROLES)
    base = knowledge.get(kb, tenant=caller.tenant)
    doc = base.catalog.document(article_id)
    if doc is None:
        raise LearnloopError(
            ErrorCode.not_found, f"article '{article_id}' is not in knowledge base '{kb}'"
        )
    sections = [
        {"heading": row.heading, "text": row.body} for row in base.catalog.chunks_of(article_id)
    ]
    return {
        "article_id": doc.id,
        "title": doc.title,
        "url": doc.url,
        "kind": doc.kind,
        "locale": doc.locale,
        "audience": doc.audience,
        "level": doc.level,
        "feature": doc.feature,
        "tags": doc.tags,
        "sections": sections,
    }
