"""The one settings object. Only this module reads the environment (prefix ``LEARNLOOP_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["EmbedderName", "Settings"]

EmbedderName = Literal["minilm-onnx-int8", "minilm-onnx", "minilm-torch"]


class Settings(BaseSettings):
    """Everything configurable, with embedded defaults that need no setup."""

    model_config = SettingsConfigDict(env_prefix="LEARNLOOP_", extra="ignore")

    data_dir: Path = Field(
        default=Path("data"), description="Where knowledge bases, indexes and models live."
    )
    chroma_url: str | None = Field(
        default=None, description="Chroma server URL (http://host:port); embedded when unset."
    )
    embedder: EmbedderName = Field(
        default="minilm-onnx",
        description="Dense embedding backend for chunks (all-MiniLM-L6-v2 in some runtime).",
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
    host: str = "127.0.0.1"
    port: int = 8000

    @property
    def kb_root(self) -> Path:
        return self.data_dir / "kbs"

    @property
    def model_cache(self) -> Path:
        return self.data_dir / "models"
