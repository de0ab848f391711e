"""The client-backed credential: tokens per tenant, cached per tenant and scopes."""

from __future__ import annotations

import time
from typing import Any

from aitk_inference.lsp.credential import ClientTokenCredential, TokenCache

SCOPE = "https://management.azure.com/.default"
HOME, GUEST = "72f988bf-0000-4000-8000-00000000e1a0", "5c1d9e2a-7b3f-4c8d-9e0a-00000000e1a1"


async def test_tokens_are_asked_for_and_cached_per_tenant() -> None:
    asked: list[tuple[list[str], str | None]] = []

    async def ask(scopes: list[str], tenant_id: str | None) -> Any:
        asked.append((scopes, tenant_id))
        return {"token": f"token-{tenant_id}-{len(asked)}", "expiresOn": int(time.time()) + 3600}

    cache = TokenCache()
    credential = ClientTokenCredential(ask, cache)
    guest = await credential.get_token_info(SCOPE, options={"tenant_id": GUEST})
    assert (await credential.get_token_info(SCOPE, options={"tenant_id": GUEST})).token == guest.token
    assert (await credential.get_token(SCOPE, tenant_id=GUEST)).token == guest.token
    home = await credential.get_token(SCOPE, tenant_id=HOME)
    default = await credential.get_token_info(SCOPE)
    assert len({guest.token, home.token, default.token}) == 3
    assert asked == [([SCOPE], GUEST), ([SCOPE], HOME), ([SCOPE], None)]
    # another operation's credential shares the server's cache
    assert (await ClientTokenCredential(ask, cache).get_token(SCOPE, tenant_id=GUEST)).token == guest.token
    assert len(asked) == 3


async def test_fallback_credential_gets_the_tenant() -> None:
    from pygls.exceptions import JsonRpcException

    seen: list[Any] = []

    class Fallback:
        async def get_token_info(self, *scopes: str, options: Any = None) -> Any:
            from azure.core.credentials import AccessTokenInfo

            seen.append(options)
            return AccessTokenInfo("fallback", int(time.time()) + 3600)

        async def close(self) -> None:
            return None

    async def no_handler(scopes: list[str], tenant_id: str | None) -> Any:
        raise JsonRpcException(code=-32601, message="method not found")

    credential = ClientTokenCredential(no_handler, TokenCache(), fallback_factory=lambda: Fallback())  # type: ignore[arg-type,return-value]
    await credential.get_token(SCOPE, tenant_id=GUEST)
    await credential.get_token_info(SCOPE)
    assert seen == [{"tenant_id": GUEST}, {}]
    assert credential.source == "DefaultAzureCredential"
