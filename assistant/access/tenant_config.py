"""Per-tenant configuration: what a tenant's admin sets for their own product.

One JSON document per tenant (``tenant_config`` table beside the tenants), validated by
``TenantConfig`` on every write and read, so a bad value is refused with the field it names
and never half-applied. Parts read it through ``TenantConfigs.get``; a tenant that never set
anything gets the defaults. Changed with ``learnloop tenant update ID …`` or by code through
``TenantConfigs.update``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, ValidationError, field_validator

from assistant.errors import ErrorCode, LearnloopError
from assistant.storage.database import Database

__all__ = ["PLAY_NAMES", "PlayName", "PlaysConfig", "TenantConfig", "TenantConfigs",
           "normalize_origin"]

# The customer-success plays health can name (DESIGN "Playbooks"), in the order they are
# listed; the rules that choose them are in ``assistant.health.plays``.
PlayName = Literal["activation", "dormant_win_back", "feature_launch", "power_user"]
PLAY_NAMES: tuple[PlayName, ...] = get_args(PlayName)
MAX_LAUNCH_FEATURES = 20
MAX_PREREQUISITES = 10
_FEATURE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}")

_MIGRATIONS = ("""
CREATE TABLE IF NOT EXISTS tenant_config (
    tenant_id TEXT PRIMARY KEY, config TEXT NOT NULL, updated_at TEXT NOT NULL
);
""",)


def normalize_origin(value: str) -> str:
    """``https://App.Example.com/`` → ``https://app.example.com``: an origin as a browser
    sends it (scheme, host, port; no path)."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an origin: write it as https://host[:port]")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{value!r} is not an origin: drop the path, query and credentials")
    port = f":{parts.port}" if parts.port else ""
    host = parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host  # an IPv6 address keeps its brackets
    return f"{parts.scheme}://{host}{port}"


class PlaysConfig(BaseModel):
    """Which plays a tenant runs and the few numbers that choose them."""

    model_config = {"extra": "forbid"}

    disabled: list[PlayName] = Field(
        default_factory=list, description="Plays never named for this tenant's accounts."
    )
    launch_features: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Newly launched feature → the features that are its prerequisites "
        "(may be empty): accounts that read or ask about it, or use a prerequisite, but do "
        "not use it get the feature_launch play.",
    )
    win_back_days: int = Field(
        default=14, ge=1, le=365, description="No login for this many days: dormant win-back."
    )
    activation_min_progress: int = Field(
        default=60, ge=0, le=100, description="A new account with fewer than this percent of "
        "the path steps due by its tenure done is behind its milestones."
    )
    power_user_min_score: int = Field(
        default=80, ge=0, le=100, description="Health score from which a mature power account "
        "gets the power-user play."
    )

    @field_validator("disabled")
    @classmethod
    def _disabled(cls, value: list[PlayName]) -> list[PlayName]:
        return [p for p in PLAY_NAMES if p in value]

    @field_validator("launch_features")
    @classmethod
    def _launches(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        if len(value) > MAX_LAUNCH_FEATURES:
            raise ValueError(f"at most {MAX_LAUNCH_FEATURES} launched features")
        cleaned: dict[str, list[str]] = {}
        for feature, prerequisites in value.items():
            for name in (feature, *prerequisites):
                if not _FEATURE_ID.fullmatch(name):
                    raise ValueError(f"{name!r} is not a feature id (like reports.schedule)")
            if feature in prerequisites:
                raise ValueError(f"{feature!r} cannot be its own prerequisite")
            if len(prerequisites) > MAX_PREREQUISITES:
                raise ValueError(f"{feature!r}: at most {MAX_PREREQUISITES} prerequisites")
            cleaned[feature] = sorted(set(prerequisites))
        return dict(sorted(cleaned.items()))


class TenantConfig(BaseModel):
    """What one tenant has configured. Every field has a default that works."""

    model_config = {"extra": "forbid"}

    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Origins of the host product's pages allowed to embed the widget and to "
        "call the API from a browser with a user token (CORS and the token's audience).",
    )
    handoff_webhook: str | None = Field(
        default=None, description="URL that receives a POST when a user asks for a person."
    )
    tip_spacing_days: float = Field(
        default=2.0, ge=0, le=365, description="At least this many days between two tips "
        "shown to one user (a tip's priority may override it)."
    )
    tip_holdout_percent: int = Field(
        default=10, ge=0, le=100, description="Share of users (by a stable bucket 0-99) who "
        "never see tips, so their adoption can be compared with those who do."
    )
    track_events: dict[str, str] = Field(
        default_factory=dict,
        description="Segment-style track event name → Learnloop event type, or "
        "'feature:<feature id>' for a feature_used event.",
    )
    plays: PlaysConfig = Field(
        default_factory=PlaysConfig,
        description="Customer-success plays named in account health (see PlaysConfig).",
    )

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        return sorted({normalize_origin(v) for v in value})

    @field_validator("handoff_webhook")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value


class TenantConfigs:
    """The ``tenant_config`` table: read and update a tenant's ``TenantConfig``."""

    def __init__(self, db: Database) -> None:
        self._db = db
        db.migrate("tenant_config", _MIGRATIONS)

    def get(self, tenant: str) -> TenantConfig:
        row = self._db.fetchone("SELECT config FROM tenant_config WHERE tenant_id=?", (tenant,))
        if row is None:
            return TenantConfig()
        return TenantConfig.model_validate(json.loads(row[0]))

    def update(self, tenant: str, **changes: Any) -> TenantConfig:
        """Apply ``changes`` (field → new value) and store the result; a value that does not
        validate raises ``invalid_input`` naming the field, and nothing is stored."""
        unknown = sorted(set(changes) - set(TenantConfig.model_fields))
        if unknown:
            raise LearnloopError(
                ErrorCode.invalid_input, f"unknown tenant setting(s): {', '.join(unknown)}"
            )
        with self._db.transaction() as tx:
            row = tx.fetchone("SELECT config FROM tenant_config WHERE tenant_id=?", (tenant,))
            current = json.loads(row[0]) if row else {}
            try:
                config = TenantConfig.model_validate({**current, **changes})
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
                )
                raise LearnloopError(ErrorCode.invalid_input, problems) from None
            stored = config.model_dump_json()
            now = datetime.now(UTC).isoformat()
            if row is None:
                tx.execute(
                    "INSERT INTO tenant_config (tenant_id, config, updated_at) VALUES (?, ?, ?)",
                    (tenant, stored, now),
                )
            else:
                tx.execute(
                    "UPDATE tenant_config SET config=?, updated_at=? WHERE tenant_id=?",
                    (stored, now, tenant),
                )
        return config

    def allowing_origin(self, origin: str) -> list[str]:
        """The tenants whose ``allowed_origins`` include ``origin`` (already normalized):
        who a browser page on that origin may be embedding the widget for."""
        rows = self._db.fetchall("SELECT tenant_id, config FROM tenant_config ORDER BY tenant_id")
        return [
            str(tenant) for tenant, config in rows
            if origin in json.loads(config).get("allowed_origins", [])
        ]
