"""Tenants, API keys and end-user tokens (DESIGN "Access").

Who may call, and as whom::

    API key      "llk_<key id>_<secret>", one tenant, one role (admin, agent, csm, ingest);
                 stored as SHA-256 of the secret, shown once at creation
    user token   JWT HS256 signed by the host product with its tenant's secret; names the
                 tenant, user (sub), account, the user's role in the product and locale;
                 short-lived (exp required, lifetime bounded by settings)
    dev mode     ``learnloop serve --dev`` on loopback: no credentials, or a bearer that is
                 not a Learnloop credential (an OpenAI client's placeholder key) → the
                 default tenant as admin; Learnloop keys and tokens sent are still checked

Everything a request touches is looked up under its caller's tenant, so a key or token of
one tenant cannot name another tenant's knowledge, sessions or data.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

import jwt

from assistant.access.tenant_config import normalize_origin
from assistant.errors import ErrorCode, LearnloopError
from assistant.storage.database import Database, is_unique_violation

__all__ = [
    "DEFAULT_TENANT",
    "KEY_ROLES",
    "AccessRegistry",
    "Caller",
    "KeyRole",
    "Role",
    "is_learnloop_credential",
    "validate_tenant_id",
]

DEFAULT_TENANT = "default"
KeyRole = Literal["admin", "agent", "csm", "ingest"]
Role = Literal["admin", "agent", "csm", "ingest", "end_user"]
KEY_ROLES: tuple[str, ...] = get_args(KeyRole)

_TENANT_ID = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,38}[a-z0-9])?$")
_KEY_PREFIX = "llk_"
_KEY = re.compile(r"^llk_([0-9a-f]{16})_([A-Za-z0-9_-]{20,})$")
# Migrations in order (component "access"); portable SQL for both dialects.
_MIGRATIONS = ("""
CREATE TABLE IF NOT EXISTS tenants (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, token_secret TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    role TEXT NOT NULL,
    label TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
""",)


def validate_tenant_id(tenant_id: str) -> str:
    if not isinstance(tenant_id, str) or not _TENANT_ID.match(tenant_id):
        raise LearnloopError(
            ErrorCode.invalid_input,
            f"tenant id {tenant_id!r} is not valid: use 1-40 lowercase letters, digits, '-' or "
            "'_', starting and ending with a letter or digit",
        )
    return tenant_id


@dataclass(frozen=True)
class Caller:
    """Who is asking: their tenant, access role and, for end users, who they are."""

    tenant: str
    role: Role
    user_id: str | None = None
    account_id: str | None = None
    user_role: str | None = None  # the user's role in the host product (admin, manager, …)
    locale: str | None = None
    key_id: str | None = None
    # The origins a user token was issued for (its ``aud`` claim); empty: any of the
    # tenant's allowed origins. Checked against the request's Origin by the app.
    audience: tuple[str, ...] = ()

    @property
    def is_end_user(self) -> bool:
        return self.role == "end_user"

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            raise LearnloopError(
                ErrorCode.forbidden,
                f"role '{self.role}' may not do this; allowed: {', '.join(roles)}",
            )


class AccessRegistry:
    """Tenants and their API keys (``access.sqlite`` beside the data, or PostgreSQL)."""

    def __init__(self, db: Database, max_token_lifetime: int = 86_400) -> None:
        self._db = db
        db.migrate("access", _MIGRATIONS)
        self.max_token_lifetime = max_token_lifetime

    # -- tenants -------------------------------------------------------------------------

    def create_tenant(self, tenant_id: str, name: str | None = None) -> str:
        """Create a tenant; returns the secret its host product signs user tokens with."""
        validate_tenant_id(tenant_id)
        secret = secrets.token_urlsafe(48)  # 64 characters: long enough for any HMAC-SHA2
        try:
            with self._db.transaction() as tx:
                tx.execute(
                    "INSERT INTO tenants (id, name, token_secret, created_at) VALUES (?, ?, ?, ?)",
                    (tenant_id, name or tenant_id, secret, _now()),
                )
        except Exception as exc:
            if not is_unique_violation(exc):
                raise
            raise LearnloopError(
                ErrorCode.conflict, f"tenant '{tenant_id}' already exists"
            ) from None
        return secret

    def ensure_tenant(self, tenant_id: str) -> None:
        """Create the tenant if it is missing (the default tenant of a local install)."""
        if not self.tenant_exists(tenant_id):
            try:
                self.create_tenant(tenant_id)
            except LearnloopError as exc:  # created concurrently by another process
                if exc.code != ErrorCode.conflict:
                    raise

    def tenant_exists(self, tenant_id: str) -> bool:
        return self._db.fetchone("SELECT 1 FROM tenants WHERE id=?", (tenant_id,)) is not None

    def tenants(self) -> list[dict[str, Any]]:
        rows = self._db.fetchall("SELECT id, name, created_at FROM tenants ORDER BY id")
        return [{"tenant_id": r[0], "name": r[1], "created_at": r[2]} for r in rows]

    def token_secret(self, tenant_id: str) -> str:
        row = self._db.fetchone("SELECT token_secret FROM tenants WHERE id=?", (tenant_id,))
        if row is None:
            raise LearnloopError(ErrorCode.not_found, f"tenant '{tenant_id}' does not exist")
        return str(row[0])

    # -- API keys ------------------------------------------------------------------------

    def create_key(self, tenant_id: str, role: str, label: str = "") -> tuple[str, str]:
        """A new key for ``tenant_id`` with ``role``; returns (key id, the key itself).

        The key is random (256 bits), so a plain SHA-256 of it is a safe thing to store:
        slow password hashes exist for guessable secrets, which these are not.
        """
        if role not in KEY_ROLES:
            raise LearnloopError(
                ErrorCode.invalid_input,
                f"role {role!r} is not a key role; choose from {', '.join(KEY_ROLES)}",
            )
        if not self.tenant_exists(tenant_id):
            raise LearnloopError(ErrorCode.not_found, f"tenant '{tenant_id}' does not exist")
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        with self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO api_keys (id, tenant_id, role, label, secret_sha256, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (key_id, tenant_id, role, label, _sha256(secret), _now()),
            )
        return key_id, f"llk_{key_id}_{secret}"

    def revoke_key(self, key_id: str) -> None:
        with self._db.transaction() as tx:
            changed = tx.execute(
                "UPDATE api_keys SET revoked_at=? WHERE id=? AND revoked_at IS NULL",
                (_now(), key_id),
            )
        if not changed:
            raise LearnloopError(ErrorCode.not_found, f"no active key '{key_id}'")

    def keys(self, tenant_id: str) -> list[dict[str, Any]]:
        rows = self._db.fetchall(
            "SELECT id, role, label, created_at, revoked_at FROM api_keys WHERE tenant_id=? "
            "ORDER BY created_at, id",
            (tenant_id,),
        )
        return [
            {"key_id": r[0], "role": r[1], "label": r[2], "created_at": r[3], "revoked_at": r[4]}
            for r in rows
        ]

    # -- authentication ------------------------------------------------------------------

    def authenticate(self, credential: str) -> Caller:
        """The caller a bearer credential (API key or user token) stands for, or 401."""
        if credential.startswith(_KEY_PREFIX):
            return self._caller_for_key(credential)
        if _looks_like_token(credential):
            return self._caller_for_token(credential)
        raise _unauthorized("the credential is neither a Learnloop API key nor a user token")

    def _caller_for_key(self, key: str) -> Caller:
        match = _KEY.match(key)
        if match is None:
            raise _unauthorized("the API key is malformed")
        key_id, secret = match.groups()
        row = self._db.fetchone(
            "SELECT tenant_id, role, secret_sha256, revoked_at FROM api_keys WHERE id=?",
            (key_id,),
        )
        # Compare even when the key id is unknown, so timing does not tell ids apart.
        stored = row[2] if row else _sha256("")
        if not hmac.compare_digest(stored, _sha256(secret)) or row is None:
            raise _unauthorized("the API key is not valid")
        if row[3] is not None:
            raise _unauthorized("the API key was revoked")
        return Caller(tenant=row[0], role=row[1], key_id=key_id)

    def _caller_for_token(self, token: str) -> Caller:
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _unauthorized("the user token is malformed") from None
        if header.get("alg") != "HS256":
            raise _unauthorized("the user token must be signed with HS256")
        tenant = unverified.get("tenant")
        if not isinstance(tenant, str) or not self.tenant_exists(tenant):
            # The same words as a bad signature: a 401 must not tell which tenants exist.
            raise _unauthorized(_NOT_SIGNED_BY_TENANT)
        try:
            claims = jwt.decode(
                token,
                self.token_secret(tenant),
                algorithms=["HS256"],
                # ``aud`` names browser origins, which only the request tells: the app checks it.
                options={"require": ["exp", "iat", "sub", "tenant"], "verify_aud": False},
                leeway=30,
            )
        except jwt.ExpiredSignatureError:
            raise _unauthorized("the user token has expired") from None
        except jwt.InvalidSignatureError:
            raise _unauthorized(_NOT_SIGNED_BY_TENANT) from None
        except jwt.PyJWTError as exc:
            raise _unauthorized(f"the user token is not valid: {exc}") from None
        lifetime = float(claims["exp"]) - float(claims["iat"])
        if lifetime > self.max_token_lifetime:
            raise _unauthorized(
                f"the user token lives {lifetime:.0f} s; at most {self.max_token_lifetime} s "
                "is accepted"
            )
        return Caller(
            tenant=tenant,
            role="end_user",
            user_id=_claim(claims, "sub"),
            account_id=_claim(claims, "account"),
            user_role=_claim(claims, "role"),
            locale=_claim(claims, "locale"),
            audience=_audience(claims),
        )

    def issue_token(
        self,
        tenant_id: str,
        user_id: str,
        account_id: str | None = None,
        user_role: str | None = None,
        locale: str | None = None,
        ttl: int = 3600,
        audience: str | None = None,
    ) -> str:
        """Sign a user token the way a host product would (for the CLI, demos and tests)."""
        now = int(datetime.now(UTC).timestamp())
        claims: dict[str, Any] = {"tenant": tenant_id, "sub": user_id, "iat": now, "exp": now + ttl}
        for name, value in (("account", account_id), ("role", user_role), ("locale", locale),
                            ("aud", audience)):
            if value is not None:
                claims[name] = value
        return jwt.encode(claims, self.token_secret(tenant_id), algorithm="HS256")


def is_learnloop_credential(credential: str) -> bool:
    """Whether a bearer is meant for Learnloop (an API key or a user token, valid or not),
    as opposed to some other service's key sent along by a generic client."""
    return credential.startswith(_KEY_PREFIX) or _looks_like_token(credential)


def _looks_like_token(credential: str) -> bool:
    return credential.count(".") == 2


def _claim(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > 200:
        raise _unauthorized(f"the user token's '{name}' claim must be a non-empty string")
    return value


def _audience(claims: dict[str, Any]) -> tuple[str, ...]:
    """The ``aud`` claim as a tuple of origins: absent, one string, or a list of strings."""
    value = claims.get("aud")
    if value is None:
        return ()
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(
        isinstance(v, str) and 0 < len(v) <= 200 for v in values
    ):
        raise _unauthorized("the user token's 'aud' claim must be an origin or a list of them")
    try:
        return tuple(normalize_origin(v) for v in values)
    except ValueError as exc:
        raise _unauthorized(f"the user token's 'aud' claim: {exc}") from None


_NOT_SIGNED_BY_TENANT = "the user token is not signed by the tenant it names"


def _unauthorized(message: str) -> LearnloopError:
    return LearnloopError(ErrorCode.unauthorized, message)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat()
