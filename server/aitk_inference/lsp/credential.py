"""Sign-in: access tokens from the client (``aitk/getToken``), as an azure-core async credential.

The extension answers from VS Code's Microsoft authentication provider. When the client cannot
answer (no handler: "method not found", or any error) the request falls back to azure-identity's
``DefaultAzureCredential`` (which honours ``AZURE_TOKEN_CREDENTIALS``). A request names the
tenant when the SDK asks for one (the subscription's tenant, see core/azure/tenants.py). Tokens are
cached per tenant and scopes until shortly before they expire and are never logged: nothing here
formats a token into a message.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aitk_inference.core.errors import AitkError

if TYPE_CHECKING:  # azure.core costs ~40 ms to import: not on the server's start-up path
    from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions
    from azure.core.credentials_async import AsyncTokenCredential

# Refresh this long before expiry, so a token never expires in the middle of a request.
REFRESH_MARGIN_S = 300

# (scopes, tenant ID or None for the account's default tenant) → the client's answer
AskClient = Callable[[list[str], str | None], Awaitable[Any]]
CacheKey = tuple[str, tuple[str, ...]]  # (tenant ID or "", sorted scopes)


class TokenCache:
    """Shared by every operation of one server (operations run on different threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[CacheKey, AccessTokenInfo] = {}

    def get(self, key: CacheKey) -> AccessTokenInfo | None:
        with self._lock:
            token = self._tokens.get(key)
        if token is not None and token.expires_on - time.time() > REFRESH_MARGIN_S:
            return token
        return None

    def put(self, key: CacheKey, token: AccessTokenInfo) -> None:
        with self._lock:
            self._tokens[key] = token


class ClientCannotAnswer(Exception):
    """The client has no token for us (no handler, an error, or a malformed answer)."""


def _default_credential() -> AsyncTokenCredential:
    from azure.identity.aio import DefaultAzureCredential  # heavy; only when needed

    return DefaultAzureCredential()


class ClientTokenCredential:
    """An ``AsyncTokenCredential`` (and ``AsyncSupportsTokenInfo``) backed by the client."""

    def __init__(
        self,
        ask_client: AskClient,
        cache: TokenCache,
        *,
        fallback_factory: Callable[[], AsyncTokenCredential] = _default_credential,
    ) -> None:
        self._ask_client = ask_client
        self._cache = cache
        self._fallback_factory = fallback_factory
        self._fallback: AsyncTokenCredential | None = None
        self.source: str | None = None  # "client" or "DefaultAzureCredential", for the log

    def __repr__(self) -> str:
        return f"ClientTokenCredential(source={self.source!r})"

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        from azure.core.credentials import AccessToken

        info = await self._token(scopes, tenant_id, fresh=claims is not None)
        return AccessToken(info.token, info.expires_on)

    async def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        options = options or {}
        return await self._token(scopes, options.get("tenant_id"), fresh=bool(options.get("claims")))

    async def _token(self, scopes: tuple[str, ...], tenant_id: str | None, *, fresh: bool) -> AccessTokenInfo:
        if not scopes:
            raise ValueError("get_token needs at least one scope")
        key: CacheKey = (tenant_id or "", tuple(sorted(scopes)))
        if not fresh and (cached := self._cache.get(key)) is not None:
            return cached
        try:
            token = await self._from_client(list(scopes), tenant_id)
            self.source = "client"
        except ClientCannotAnswer:
            token = await self._from_fallback(scopes, tenant_id)
            self.source = "DefaultAzureCredential"
        self._cache.put(key, token)
        return token

    async def _from_client(self, scopes: list[str], tenant_id: str | None) -> AccessTokenInfo:
        from pygls.exceptions import JsonRpcException

        try:
            answer = await self._ask_client(scopes, tenant_id)
        except JsonRpcException as exc:
            raise ClientCannotAnswer(exc.message) from None
        if not isinstance(answer, dict):
            raise ClientCannotAnswer("no answer")
        token, expires_on = answer.get("token"), answer.get("expiresOn")
        if not isinstance(token, str) or not token or not isinstance(expires_on, int | float):
            raise ClientCannotAnswer("malformed answer")  # never echo the answer: it may hold a token
        from azure.core.credentials import AccessTokenInfo

        # Clients may send milliseconds (JavaScript's Date.now()); the protocol says seconds.
        expires = int(expires_on / 1000) if expires_on > 1e11 else int(expires_on)
        return AccessTokenInfo(token, expires)

    async def _from_fallback(self, scopes: tuple[str, ...], tenant_id: str | None) -> AccessTokenInfo:
        if self._fallback is None:
            self._fallback = self._fallback_factory()
        try:
            if hasattr(self._fallback, "get_token_info"):
                options: TokenRequestOptions = {"tenant_id": tenant_id} if tenant_id else {}
                info: AccessTokenInfo = await self._fallback.get_token_info(*scopes, options=options)
                return info
            token = await self._fallback.get_token(*scopes, tenant_id=tenant_id)
        except Exception as exc:
            raise AitkError(
                f"Could not sign in to Azure: the editor gave no token and DefaultAzureCredential failed ({exc}).",
                hint="Sign in with the Microsoft account in VS Code (Accounts menu), or run 'az login'.",
                code="SignInFailed",
            ) from None
        from azure.core.credentials import AccessTokenInfo

        return AccessTokenInfo(token.token, token.expires_on)

    async def close(self) -> None:
        if self._fallback is not None:
            await self._fallback.close()
            self._fallback = None

    async def __aenter__(self) -> ClientTokenCredential:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.close()
