"""The one settings object. Only this module reads the environment (prefix ``LEARNLOOP_``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["COMPONENTS", "DEFAULT_WEIGHTS", "EmbedderName", "Settings", "validate_weights"]

EmbedderName = Literal["minilm-onnx-int8", "minilm-onnx", "minilm-torch"]


# Health components and their default weights (LEARNLOOP_HEALTH_WEIGHTS overrides them).
COMPONENTS = ("education", "usage", "support", "sentiment")
DEFAULT_WEIGHTS: dict[str, float] = {
    "education": 0.35, "usage": 0.30, "support": 0.15, "sentiment": 0.20,
}


def validate_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """Known component names, finite non-negative weights, a positive sum; missing ones are
    0. Returned as shares that add up to 1."""
    unknown = sorted(set(weights) - set(COMPONENTS))
    if unknown:
        raise ValueError(
            f"unknown health component(s) {', '.join(unknown)}; known: {', '.join(COMPONENTS)}"
        )
    for name, value in weights.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
            value
        ) or value < 0:
            raise ValueError(f"health weight '{name}' must be a non-negative number")
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("health weights must add up to more than 0")
    return {name: float(weights.get(name, 0.0)) / total for name in COMPONENTS}


class Settings(BaseSettings):
    """Everything configurable, with embedded defaults that need no setup."""

    model_config = SettingsConfigDict(env_prefix="LEARNLOOP_", extra="ignore")

    data_dir: Path = Field(
        default=Path("data"), description="Where knowledge bases, indexes and models live."
    )
    database_url: str | None = Field(
        default=None,
        description="Engagement log and what is derived from it: postgresql://… or "
        "sqlite:///PATH; SQLite at DATA_DIR/learnloop.sqlite when unset.",
    )
    chroma_url: str | None = Field(
        default=None, description="Chroma server URL (http://host:port); embedded when unset."
    )
    embedder: EmbedderName = Field(
        default="minilm-onnx",
        description="Dense embedding backend for chunks (all-MiniLM-L6-v2 in some runtime).",
    )
    model_threads: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="Threads each model may use (unset: up to 4, the cores there are). "
        "`serve --workers N` sets cores / N so the workers do not contend.",
    )
    multilingual: bool = Field(
        default=True,
        description="Also index chunk gists with multilingual USE so other languages match.",
    )
    rrf_k: int = Field(default=20, ge=1, description="Reciprocal-rank-fusion constant.")
    candidates: int = Field(default=40, ge=5, le=500, description="Hits taken from each retriever.")
    max_query_chars: int = Field(default=2000, ge=10)
    max_k: int = Field(default=50, ge=1)
    max_request_bytes: int = Field(default=1_000_000, ge=1024)
    max_event_batch: int = Field(default=1000, ge=1, description="Most events in one POST.")
    max_user_event_age: int = Field(
        default=86_400,
        ge=60,
        description="How far back an end user's own client may date an event, s (the host's "
        "keys may import any history).",
    )
    dev_mode: bool = Field(
        default=False,
        description="Local development: requests without credentials act as the default "
        "tenant's admin. `learnloop serve --dev` sets it and binds only to loopback.",
    )
    rate_limit_per_key: int = Field(
        default=1200,
        ge=0,
        description="Requests a minute one API key may send (bursts up to that many), per "
        "server process; 0 turns it off. Past it: 429 with Retry-After.",
    )
    rate_limit_per_user: int = Field(
        default=120,
        ge=0,
        description="Requests a minute one end user (user token) may send, per server "
        "process; 0 turns it off.",
    )
    max_token_lifetime: int = Field(
        default=86_400, ge=60, description="Longest accepted user-token lifetime (exp - iat), s."
    )
    host: str = "127.0.0.1"
    port: int = 8000
    answerer: Literal["extractive", "llm"] = Field(
        default="extractive",
        description="Who writes answers: quotes from the articles (no network) or an LLM.",
    )
    llm_base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible endpoint (https://api.openai.com/v1, a vLLM, Ollama or "
        "llama.cpp server's /v1); required when answerer is 'llm'.",
    )
    llm_model: str = Field(default="gpt-4o-mini", description="Model name sent to the endpoint.")
    llm_api_key: SecretStr | None = Field(
        default=None, description="Bearer key for the endpoint; local servers need none."
    )
    llm_timeout: float = Field(
        default=20.0,
        gt=0,
        description="Seconds to wait for the endpoint's response and between streamed tokens; "
        "past it the extractive answer is served.",
    )
    llm_context_tokens: int = Field(
        default=2000, ge=100, description="Token budget (cl100k) for the sources in the prompt."
    )
    llm_max_tokens: int = Field(default=400, ge=16, description="Longest answer, in tokens.")
    health_weights: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_WEIGHTS),
        description="Weight of each health component, as JSON: education, usage, support, "
        "sentiment (non-negative, sum > 0; a missing one weighs 0).",
    )

    @field_validator("health_weights")
    @classmethod
    def _check_health_weights(cls, value: dict[str, float]) -> dict[str, float]:
        return validate_weights(value)

    @property
    def kb_root(self) -> Path:
        return self.data_dir / "kbs"

    @property
    def model_cache(self) -> Path:
        return self.data_dir / "models"
