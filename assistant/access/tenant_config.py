"""Per-tenant configuration: what a tenant's admin sets for their own product.

One JSON document per tenant (``tenant_config`` table beside the tenants), validated by
``TenantConfig`` on every write and read, so a bad value is refused with the field it names
and never half-applied. Parts read it through ``TenantConfigs.get``; a tenant that never set
anything gets the defaults. Changed with ``learnloop tenant update ID …`` or by code through
``TenantConfigs.update``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, ValidationError, field_validator

from assistant.errors import ErrorCode, LearnloopError
from assistant.storage.database import Database

__all__ = ["TenantConfig", "TenantConfigs", "normalize_origin"]

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
