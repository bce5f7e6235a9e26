"""FastAPI dependencies: the parts of the app's ``Services`` (the composition root, built in
``create_app``), the caller, and the clock, handed to routers per request."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from assistant.access.registry import (
    DEFAULT_TENANT,
    AccessRegistry,
    Caller,
    is_learnloop_credential,
)
from assistant.access.tenant_config import TenantConfigs
from assistant.app.cors import cross_origin
from assistant.chat.conversations import ConversationStore
from assistant.chat.handoff import HandoffNotifier
from assistant.chat.turns import ChatParts
from assistant.copilot.service import CopilotService
from assistant.errors import ErrorCode, LearnloopError
from assistant.events.log import EventLog
from assistant.health.service import HealthService
from assistant.insights.content_gap_service import ContentGapService
from assistant.knowledge.base import Knowledge
from assistant.learning.service import LearningService
from assistant.services import Services
from assistant.settings import Settings
from assistant.tips.service import TipService

__all__ = [
    "AccessDep",
    "CallerDep",
    "ChatDep",
    "ContentGapsDep",
    "ConversationsDep",
    "CopilotDep",
    "EventLogDep",
    "HandoffDep",
    "HealthDep",
    "KnowledgeDep",
    "LearningDep",
    "NowDep",
    "SettingsDep",
    "TenantConfigsDep",
    "TipsDep",
    "get_caller",
    "get_now",
    "get_services",
]


# Dev mode's caller: the default tenant's admin (no budget: one developer on loopback).
DEV_ADMIN = Caller(tenant=DEFAULT_TENANT, role="admin")


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_now(services: ServicesDep) -> datetime:
    """The clock a request is served against (``create_app(clock=...)``; tests may also
    override this dependency)."""
    return services.clock()


def get_knowledge(services: ServicesDep) -> Knowledge:
    return services.knowledge


def get_conversations(services: ServicesDep) -> ConversationStore:
    return services.conversations


def get_settings(services: ServicesDep) -> Settings:
    return services.settings


def get_access(services: ServicesDep) -> AccessRegistry:
    return services.access


def get_tenant_configs(services: ServicesDep) -> TenantConfigs:
    return services.tenant_configs


def get_event_log(services: ServicesDep) -> EventLog:
    return services.event_log


def get_handoff(services: ServicesDep) -> HandoffNotifier:
    return services.handoff


def get_learning(services: ServicesDep) -> LearningService:
    return services.learning


def get_health(services: ServicesDep) -> HealthService:
    return services.health


def get_content_gaps(services: ServicesDep) -> ContentGapService:
    return services.content_gaps


def get_tips(services: ServicesDep) -> TipService:
    return services.tips


def get_copilot(services: ServicesDep) -> CopilotService:
    return services.copilot


def get_chat(services: ServicesDep) -> ChatParts:
    return services.chat


def get_caller(request: Request, services: ServicesDep) -> Caller:
    """Who is calling, from ``Authorization: Bearer <API key or user token>``, once their
    request budget (``RateLimiter``) allows it.

    In dev mode a request without credentials, or with a bearer that is no Learnloop
    credential (the placeholder key an OpenAI client insists on sending), is the default
    tenant's admin; a Learnloop key or user token is checked all the same, so dev mode can
    be used to try them.
    """
    settings = services.settings
    header = request.headers.get("authorization")
    if header is None:
        if settings.dev_mode:
            _check_origin(request, services, DEV_ADMIN)
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
        _check_origin(request, services, DEV_ADMIN)
        return DEV_ADMIN
    caller = services.access.authenticate(credential)
    _check_origin(request, services, caller)
    services.rate_limiter.spend(caller)
    return caller


def _check_origin(request: Request, services: Services, caller: Caller) -> None:
    """A call from a page on another origin must be one that origin may make (see
    ``OriginPolicy``); once it is, the CORS middleware lets the page read the answer."""
    origin = cross_origin(request.scope)
    if origin is None:
        return
    try:
        services.origin_policy.check(caller, origin)
    except LearnloopError:
        request.state.cors_origin = None  # refused: the page may not even read why
        raise
    request.state.cors_origin = origin


NowDep = Annotated[datetime, Depends(get_now)]
KnowledgeDep = Annotated[Knowledge, Depends(get_knowledge)]
ConversationsDep = Annotated[ConversationStore, Depends(get_conversations)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
AccessDep = Annotated[AccessRegistry, Depends(get_access)]
TenantConfigsDep = Annotated[TenantConfigs, Depends(get_tenant_configs)]
EventLogDep = Annotated[EventLog, Depends(get_event_log)]
HandoffDep = Annotated[HandoffNotifier, Depends(get_handoff)]
LearningDep = Annotated[LearningService, Depends(get_learning)]
HealthDep = Annotated[HealthService, Depends(get_health)]
ContentGapsDep = Annotated[ContentGapService, Depends(get_content_gaps)]
ChatDep = Annotated[ChatParts, Depends(get_chat)]
CopilotDep = Annotated[CopilotService, Depends(get_copilot)]
TipsDep = Annotated[TipService, Depends(get_tips)]
CallerDep = Annotated[Caller, Depends(get_caller)]
