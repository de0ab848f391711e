"""Tokens for the subscription's tenant. A guest user's subscription lives in another tenant than
the user's home one, and ARM refuses a token from the wrong tenant (401
InvalidAuthenticationTokenTenant), so every subscription-scoped client asks for its tenant's token.

The tenant comes from the subscription list (``tenantId``) when the user picked there, else from
ARM's challenge to a request without a token (``WWW-Authenticate: Bearer
authorization_uri="https://login.windows.net/<tenant>"``): that request carries no credential.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions
    from azure.core.credentials_async import AsyncTokenCredential

    from aitk_inference.core.azure.cloud import Cloud

_CHALLENGE_TENANT = re.compile(r'authorization_uri="https://[^/"]+/([0-9a-fA-F-]{36})"')
_PROBE_API_VERSION = "2022-12-01"

_lock = threading.Lock()
_known: dict[tuple[str, str], str] = {}  # (ARM endpoint, subscription) → tenant


def remember_tenant(cloud: Cloud, subscription_id: str, tenant_id: str) -> None:
    with _lock:
        _known[(cloud.arm_endpoint, subscription_id.lower())] = tenant_id


def known_tenant(cloud: Cloud, subscription_id: str) -> str | None:
    with _lock:
        return _known.get((cloud.arm_endpoint, subscription_id.lower()))


def tenant_from_challenge(header: str) -> str | None:
    m = _CHALLENGE_TENANT.search(header)
    return m.group(1).lower() if m else None


async def subscription_tenant(cloud: Cloud, subscription_id: str) -> str | None:
    """The subscription's tenant (None when ARM does not say)."""
    if (tenant := known_tenant(cloud, subscription_id)) is not None:
        return tenant
    import aiohttp

    from aitk_inference.core.azure.tls import ssl_context

    url = f"{cloud.arm_endpoint}/subscriptions/{subscription_id}?api-version={_PROBE_API_VERSION}"
    try:
        async with (
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=ssl_context()),
                trust_env=True,
                timeout=aiohttp.ClientTimeout(total=30),
            ) as session,
            session.get(url) as response,
        ):
            tenant = tenant_from_challenge(response.headers.get("WWW-Authenticate", ""))
    except (aiohttp.ClientError, TimeoutError):
        return None  # the client's own request reports the network problem in full
    if tenant is not None:
        remember_tenant(cloud, subscription_id, tenant)
    return tenant


class TenantCredential:
    """Passes ``tenant_id`` to every token request of the credential it wraps (which its owner
    closes). With ``tenant_id=None`` it finds the subscription's tenant on first use."""

    def __init__(
        self,
        credential: AsyncTokenCredential,
        *,
        tenant_id: str | None = None,
        cloud: Cloud | None = None,
        subscription_id: str | None = None,
    ) -> None:
        self._credential = credential
        self.tenant_id = tenant_id
        self._cloud = cloud
        self._subscription_id = subscription_id

    async def _tenant(self) -> str | None:
        if self.tenant_id is None and self._cloud is not None and self._subscription_id:
            self.tenant_id = await subscription_tenant(self._cloud, self._subscription_id)
        return self.tenant_id

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        tenant = await self._tenant() or tenant_id
        token: AccessToken = await self._credential.get_token(
            *scopes, claims=claims, tenant_id=tenant, enable_cae=enable_cae, **kwargs
        )
        return token

    async def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        from azure.core.credentials import AccessTokenInfo

        opts: dict[str, Any] = dict(options or {})
        if (tenant := await self._tenant()) is not None:
            opts["tenant_id"] = tenant
        if hasattr(self._credential, "get_token_info"):
            info: AccessTokenInfo = await self._credential.get_token_info(*scopes, options=opts)
            return info
        token = await self._credential.get_token(
            *scopes,
            claims=opts.get("claims"),
            tenant_id=opts.get("tenant_id"),
            enable_cae=bool(opts.get("enable_cae")),
        )
        return AccessTokenInfo(token.token, token.expires_on)

    async def close(self) -> None:
        """The wrapped credential belongs to the caller."""

    async def __aenter__(self) -> TenantCredential:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None
