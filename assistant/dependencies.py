"""FastAPI dependencies: collaborators built in the app's lifespan, injected per request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from assistant.access import DEFAULT_TENANT, AccessRegistry, Caller, is_learnloop_credential
from assistant.content_gap_service import ContentGapService
from assistant.conversations import ConversationStore
from assistant.database import Database
from assistant.errors import ErrorCode, LearnloopError
from assistant.event_log import EventLog
from assistant.knowledge_base import Knowledge
from assistant.rate_limits import RateLimiter
from assistant.settings import Settings

__all__ = [
    "AccessDep",
    "CallerDep",
    "ContentGapsDep",
    "ConversationsDep",
    "DatabaseDep",
    "EventLogDep",
    "KnowledgeDep",
    "SettingsDep",
    "get_access",
    "get_caller",
    "get_conversations",
    "get_knowledge",
    "get_settings",
]


# Dev mode's caller: the default tenant's admin (no budget: one developer on loopback).
DEV_ADMIN = Caller(tenant=DEFAULT_TENANT, role="admin")


def get_knowledge(request: Request) -> Knowledge:
    knowledge: Knowledge = request.app.state.knowledge
    return knowledge


KnowledgeDep = Annotated[Knowledge, Depends(get_knowledge)]


def get_conversations(request: Request) -> ConversationStore:
    conversations: ConversationStore = request.app.state.conversations
    return conversations


ConversationsDep = Annotated[ConversationStore, Depends(get_conversations)]


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_access(request: Request) -> AccessRegistry:
    access: AccessRegistry = request.app.state.access
    return access


AccessDep = Annotated[AccessRegistry, Depends(get_access)]


def get_caller(request: Request) -> Caller:
    """Who is calling, from ``Authorization: Bearer <API key or user token>``, once their
    request budget (``RateLimiter``) allows it.

    In dev mode a request without credentials, or with a bearer that is no Learnloop
    credential (the placeholder key an OpenAI client insists on sending), is the default
    tenant's admin; a Learnloop key or user token is checked all the same, so dev mode can
    be used to try them.
    """
    settings: Settings = request.app.state.settings
    header = request.headers.get("authorization")
    if header is None:
        if settings.dev_mode:
            return DEV_ADMIN
        raise LearnloopError(
            ErrorCode.unauthorized,
            "missing credentials: send 'Authorization: Bearer <API key or user token>'",
        )
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise LearnloopError(
            ErrorCode.unauthorized, "the Authorization header must be 'Bearer <credential>'"
        )
    if settings.dev_mode and not is_learnloop_credential(credential):
        return DEV_ADMIN
    caller = get_access(request).authenticate(credential)
    limiter: RateLimiter = request.app.state.rate_limiter
    limiter.spend(caller)
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


def get_content_gaps(request: Request) -> ContentGapService:
    service: ContentGapService = request.app.state.content_gaps
    return service


ContentGapsDep = Annotated[ContentGapService, Depends(get_content_gaps)]


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


DatabaseDep = Annotated[Database, Depends(get_database)]


def get_event_log(request: Request) -> EventLog:
    event_log: EventLog = request.app.state.event_log
    return event_log


EventLogDep = Annotated[EventLog, Depends(get_event_log)]
