"""FastAPI dependencies: collaborators built in the app's lifespan, injected per request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from assistant.conversations import ConversationStore
from assistant.knowledge_base import Knowledge
from assistant.settings import Settings

__all__ = [
    "ConversationsDep",
    "KnowledgeDep",
    "SettingsDep",
    "get_conversations",
    "get_knowledge",
    "get_settings",
]


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
