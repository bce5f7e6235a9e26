"""Which page origins may call with which credential (the widget's CORS and token audience)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.access.origins import OriginPolicy
from assistant.access.registry import AccessRegistry, Caller
from assistant.access.tenant_config import TenantConfigs
from assistant.errors import ErrorCode, LearnloopError
from assistant.storage.database import open_database

APP = "https://app.acme.example"


@pytest.fixture
def stores(
    tmp_path: Path, database_url: str | None
) -> Iterator[tuple[AccessRegistry, TenantConfigs]]:
    database = open_database(database_url, tmp_path, "access.sqlite")
    access, configs = AccessRegistry(database), TenantConfigs(database)
    for tenant in ("acme", "globex"):
        access.create_tenant(tenant)
    configs.update("acme", allowed_origins=[APP + "/"])
    configs.update("globex", allowed_origins=["https://globex.example"])
    yield access, configs
    database.close()


def user(tenant: str = "acme", audience: tuple[str, ...] = ()) -> Caller:
    return Caller(tenant=tenant, role="end_user", user_id="u-1", account_id="a-1",
                  audience=audience)


def refusal(policy: OriginPolicy, caller: Caller, origin: str) -> str:
    with pytest.raises(LearnloopError) as caught:
        policy.check(caller, origin)
    assert caught.value.code == ErrorCode.forbidden
    return caught.value.message


def test_a_user_token_is_accepted_only_from_its_tenants_origins(stores):
    _, configs = stores
    policy = OriginPolicy(configs, dev_mode=False)
    policy.check(user(), "https://APP.acme.example")  # origins compare normalized
    assert "not allowed for this token's tenant" in refusal(policy, user(), "https://globex.example")
    assert "not allowed" in refusal(policy, user("globex"), APP)
    assert "not an http(s) origin" in refusal(policy, user(), "null")


def test_an_audience_must_name_the_calling_origin(stores):
    _, configs = stores
    policy = OriginPolicy(configs, dev_mode=True)
    policy.check(user(audience=(APP,)), APP)
    assert "token is for" in refusal(policy, user(audience=("https://other.example",)), APP)
    # Even a loopback page in dev mode: the audience is the host's word on where it may run.
    assert "token is for" in refusal(policy, user(audience=(APP,)), "http://localhost:3000")


def test_keys_are_refused_from_pages_and_dev_mode_allows_loopback(stores):
    _, configs = stores
    strict, dev = OriginPolicy(configs, dev_mode=False), OriginPolicy(configs, dev_mode=True)
    key = Caller(tenant="acme", role="admin", key_id="k")
    assert "API keys are for server-to-server" in refusal(strict, key, APP)
    assert "not allowed" in refusal(strict, user(), "http://127.0.0.1:3000")
    for origin in ("http://127.0.0.1:3000", "http://localhost:5173", "http://[::1]:8080"):
        dev.check(user(), origin)
        dev.check(key, origin)
        assert dev.may_preflight(origin) and not strict.may_preflight(origin)
    assert "API keys" in refusal(dev, key, "https://evil.example")


def test_preflights_are_answered_for_origins_some_tenant_allows(stores):
    _, configs = stores
    policy = OriginPolicy(configs, dev_mode=False)
    assert policy.may_preflight(APP) and policy.may_preflight("https://globex.example")
    assert not policy.may_preflight("https://evil.example")
    assert not policy.may_preflight("javascript:alert(1)")
    assert configs.allowing_origin(APP) == ["acme"]


def test_the_tokens_aud_claim_is_read_as_origins(stores):
    access, _ = stores
    caller = access.authenticate(access.issue_token("acme", "u-1", audience=APP + "/"))
    assert caller.audience == (APP,)
    assert access.authenticate(access.issue_token("acme", "u-1")).audience == ()
    with pytest.raises(LearnloopError, match="'aud' claim"):
        access.authenticate(access.issue_token("acme", "u-1", audience="not an origin"))
