"""Which browser origins may call the API, and as whom (DESIGN "Access", the widget).

A page on another origin (the host product embedding the widget) calls with an end user's
token; the token's tenant must list that origin in ``TenantConfig.allowed_origins``, and a
token with an ``aud`` claim must name it too. API keys never belong in a page, so a
cross-origin call with a key is refused. Same-origin pages (the chat page, the dashboard)
and server-to-server calls (no ``Origin``) are not affected. In dev mode any loopback origin
is allowed, as anything on this machine already is.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from assistant.access.registry import Caller
from assistant.access.tenant_config import TenantConfigs, normalize_origin
from assistant.errors import ErrorCode, LearnloopError

__all__ = ["OriginPolicy", "is_loopback_name"]


def is_loopback_name(name: str) -> bool:
    """Whether a host name always means this machine: localhost (RFC 6761) or a loopback IP."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class OriginPolicy:
    """Decides cross-origin browser calls from the tenants' configuration."""

    def __init__(self, configs: TenantConfigs, dev_mode: bool) -> None:
        self._configs = configs
        self._dev_mode = dev_mode

    def may_preflight(self, origin: str) -> bool:
        """A preflight carries no credentials: it is answered for an origin some tenant
        allows (or a loopback one in dev mode); the real request is checked with its token."""
        normalized = _normalized(origin)
        if normalized is None:
            return False
        return self._dev_loopback(normalized) or bool(self._configs.allowing_origin(normalized))

    def check(self, caller: Caller, origin: str) -> None:
        """Refuse (403, naming why) a call from a page on ``origin`` that ``caller`` may not
        make from there."""
        normalized = _normalized(origin)
        if normalized is None:
            raise _refused(f"the Origin header {origin[:80]!r} is not an http(s) origin")
        if caller.audience and normalized not in caller.audience:
            raise _refused(
                f"the user token is for {', '.join(caller.audience)}, not for {normalized}"
            )
        if self._dev_loopback(normalized):
            return
        if not caller.is_end_user:
            raise _refused(
                "a page on another origin must call with a user token signed by the host "
                "product; API keys are for server-to-server calls"
            )
        if normalized not in self._configs.get(caller.tenant).allowed_origins:
            raise _refused(
                f"origin {normalized} is not allowed for this token's tenant (learnloop tenant "
                "update ID --allowed-origin URL)"
            )

    def _dev_loopback(self, origin: str) -> bool:
        return self._dev_mode and is_loopback_name(urlsplit(origin).hostname or "")


def _normalized(origin: str) -> str | None:
    try:
        return normalize_origin(origin)
    except ValueError:
        return None


def _refused(message: str) -> LearnloopError:
    return LearnloopError(ErrorCode.forbidden, message)
