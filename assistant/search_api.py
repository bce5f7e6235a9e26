"""``POST /v1/search``: ranked articles for a question, one entry per article."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from assistant.dependencies import KnowledgeDep

__all__ = ["SearchRequest", "SearchResponse", "router"]

router = APIRouter(prefix="/v1", tags=["search"])


class SearchFilters(BaseModel):
    model_config = {"extra": "forbid"}

    locale: str | list[str] | None = None
    audience: str | list[str] | None = None
    level: str | list[str] | None = None
    kind: str | list[str] | None = None


class SearchRequest(BaseModel):
    model_config = {"extra": "forbid"}

    query: str = Field(min_length=1, max_length=2000, description="The question, as typed.")
    kb: str = Field(min_length=1, max_length=60, description="Knowledge base name.")
    k: int = Field(default=5, ge=1, le=50, description="How many articles to return.")
    filters: SearchFilters | None = None


class SearchResult(BaseModel):
    article_id: str
    title: str
    url: str | None
    score: float
    snippet: str


class SearchResponse(BaseModel):
    results: list[SearchResult]


@router.post("/search", response_model=SearchResponse)
async def search(body: SearchRequest, knowledge: KnowledgeDep) -> dict[str, Any]:
    filters = body.filters.model_dump(exclude_none=True) if body.filters else {}
    kb = knowledge.get(body.kb)
    retriever = knowledge.retriever(kb)
    hits = await run_in_threadpool(retriever.search, body.query, body.k, filters)
    return {"results": [h.as_dict() for h in hits]}
