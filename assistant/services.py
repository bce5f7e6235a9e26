"""The composition root: the one place that builds Learnloop's parts from settings.

The HTTP app (in its lifespan), the command line and the eval scripts all start from
``Services(settings)``; FastAPI dependencies (``assistant.app.deps``) hand its parts to the
routers. A part is built on first use and then kept, so a CLI command pays only for what it
touches; ``warm_up()`` builds everything a request could need before the app says it is ready.
Nothing else constructs stores or services, and nothing else reads the environment.
"""

from __future__ import annotations

from functools import cached_property

from assistant.access.origins import OriginPolicy
from assistant.access.rate_limits import RateLimiter
from assistant.access.registry import DEFAULT_TENANT, AccessRegistry
from assistant.access.tenant_config import TenantConfigs
from assistant.answering.factory import Answerers
from assistant.chat.conversations import ConversationStore
from assistant.chat.handoff import HandoffNotifier
from assistant.chat.turns import ChatParts
from assistant.clock import Clock, utc_now
from assistant.copilot.gaps import CopilotGaps
from assistant.copilot.service import CopilotService
from assistant.copilot.store import CopilotDrafts
from assistant.events.log import EventLog
from assistant.health.service import HealthService, KnowledgeFactsCache
from assistant.health.store import HealthSnapshots
from assistant.insights.content_gap_service import ContentGapService
from assistant.knowledge.base import Knowledge
from assistant.learning.service import LearningService
from assistant.settings import Settings
from assistant.storage.database import Database, open_database
from assistant.tips.service import TipService

__all__ = ["Services"]


class Services:
    """Settings, stores, models, knowledge and services of one process, built once."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        knowledge: Knowledge | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.settings = settings or Settings()
        self.clock = clock
        self._opened: list[Database] = []
        if knowledge is not None:  # a test or benchmark sharing already loaded models
            self.__dict__["knowledge"] = knowledge

    # --- stores ------------------------------------------------------------------------------

    @cached_property
    def database(self) -> Database:
        """Events, tips and health snapshots: SQLite in the data dir, or LEARNLOOP_DATABASE_URL."""
        return self._open("learnloop.sqlite")

    @cached_property
    def event_log(self) -> EventLog:
        return EventLog(self.database)

    @cached_property
    def conversations(self) -> ConversationStore:
        return ConversationStore(self._open("conversations.sqlite"))

    @cached_property
    def access_database(self) -> Database:
        """Tenants, their keys and their configuration."""
        return self._open("access.sqlite")

    @cached_property
    def access(self) -> AccessRegistry:
        access = AccessRegistry(self.access_database, self.settings.max_token_lifetime)
        access.ensure_tenant(DEFAULT_TENANT)
        return access

    @cached_property
    def tenant_configs(self) -> TenantConfigs:
        return TenantConfigs(self.access_database)

    @cached_property
    def origin_policy(self) -> OriginPolicy:
        return OriginPolicy(self.tenant_configs, self.settings.dev_mode)

    @cached_property
    def handoff(self) -> HandoffNotifier:
        return HandoffNotifier(self.tenant_configs, self.access, self.conversations, self.clock)

    def _open(self, sqlite_name: str) -> Database:
        """A connection of its own for one store: the SQLite file ``sqlite_name`` in the data
        dir, or the database LEARNLOOP_DATABASE_URL names (all stores share it)."""
        database = open_database(self.settings.database_url, self.settings.data_dir, sqlite_name)
        self._opened.append(database)
        return database

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        return RateLimiter(self.settings.rate_limit_per_key, self.settings.rate_limit_per_user)

    # --- knowledge and the services on top of it ----------------------------------------------

    @cached_property
    def knowledge(self) -> Knowledge:
        return Knowledge(self.settings)

    @cached_property
    def answerers(self) -> Answerers:
        return Answerers(self.settings, self.knowledge)

    @cached_property
    def learning(self) -> LearningService:
        return LearningService(self.knowledge, self.event_log)

    @cached_property
    def tips(self) -> TipService:
        return TipService(self.knowledge, self.event_log, self.tenant_configs)

    @cached_property
    def health(self) -> HealthService:
        return HealthService(
            self.event_log,
            HealthSnapshots(self.database),
            KnowledgeFactsCache(self.knowledge),
            self.settings.health_weights,
            plays=lambda tenant: self.tenant_configs.get(tenant).plays,
        )

    @cached_property
    def copilot_drafts(self) -> CopilotDrafts:
        return CopilotDrafts(self.database)

    @cached_property
    def content_gaps(self) -> ContentGapService:
        return ContentGapService(self.knowledge, self.event_log,
                                 sources=[CopilotGaps(self.copilot_drafts)])

    @cached_property
    def copilot(self) -> CopilotService:
        return CopilotService(
            self.knowledge, self.answerers, self.event_log, self.learning, self.health,
            self.tips, self.copilot_drafts,
            max_query_chars=self.settings.max_query_chars,
        )

    @cached_property
    def chat(self) -> ChatParts:
        return ChatParts(
            self.settings, self.knowledge, self.answerers, self.conversations,
            self.event_log, self.learning,
        )

    def warm_up(self) -> None:
        """Build every part a request may need and load the models, so that the first
        question is answered without loading anything."""
        self.knowledge.warm_up()
        for part in (
            "access", "tenant_configs", "origin_policy", "rate_limiter", "chat", "tips",
            "health", "content_gaps", "handoff", "copilot",
        ):
            getattr(self, part)

    def close(self) -> None:
        if "handoff" in self.__dict__:
            self.handoff.close()
        while self._opened:
            self._opened.pop().close()
