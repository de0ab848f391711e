"""An Azure Files share client for the sync: the user's CA bundle, retries that suit uploads, and a
count of every HTTP request actually sent (retries included)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from azure.core.pipeline.policies import AsyncRetryPolicy
from azure.storage.fileshare import LocationMode

from aitk_inference.core.azure.transport import PooledAioHttpTransport
from aitk_inference.core.sync.lean_share import LeanShare

if TYPE_CHECKING:
    from azure.storage.fileshare.aio import ShareClient


@dataclass(frozen=True)
class ShareTarget:
    """Where to sync. ``account_url`` is the storage account's ``primaryEndpoints.file``
    (discovered from ARM); ``account_key`` is a secret: never log or persist it."""

    account_url: str
    account_name: str
    share_name: str
    account_key: str

    def __repr__(self) -> str:  # keep the key out of logs and tracebacks
        return f"ShareTarget(account_url={self.account_url!r}, share_name={self.share_name!r})"


# The storage SDK's own retry policy neither retries 429 nor honours Retry-After, and waits 15 s
# before its first retry. azure-core's policy retries 408/429/5xx and dropped connections
# (re-sending the same range bytes), waits what Retry-After says, else backs off 0.5 s, 1 s, 2 s…
RETRY_TOTAL = 6
RETRY_BACKOFF = 0.5
RETRY_BACKOFF_MAX = 30.0


class CountingTransport(PooledAioHttpTransport):
    """The pooled aiohttp transport that counts requests put on the wire (one per retry attempt too)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.requests = 0

    def count(self) -> None:
        self.requests += 1

    async def send(self, request: Any, **kwargs: Any) -> Any:
        self.requests += 1
        return await super().send(request, **kwargs)


@dataclass
class ShareConnection:
    share: ShareClient
    transport: CountingTransport
    lean: LeanShare  # the hot requests (listing, upload), on the same session and count

    @property
    def requests(self) -> int:
        return self.transport.requests


class StorageRetryPolicy(AsyncRetryPolicy):  # type: ignore[type-arg]
    """azure-core's retry in the slot the storage pipeline gives its own: it takes the
    per-request options the storage policies set for theirs (secondary-host routing, unused
    here) and tags the response with the location the storage deserializers read."""

    _STORAGE_OPTIONS = ("hosts", "location_mode", "retry_hook", "retry_to_secondary")

    def configure_retries(self, options: dict[str, Any]) -> dict[str, Any]:
        for name in self._STORAGE_OPTIONS:
            options.pop(name, None)
        return super().configure_retries(options)

    async def send(self, request: Any) -> Any:
        response = await super().send(request)
        response.http_response.location_mode = LocationMode.PRIMARY
        return response


def retry_policy(backoff: float = RETRY_BACKOFF) -> StorageRetryPolicy:
    return StorageRetryPolicy(
        retry_total=RETRY_TOTAL,
        retry_connect=RETRY_TOTAL,
        retry_read=RETRY_TOTAL,
        retry_status=RETRY_TOTAL,
        retry_backoff_factor=backoff,
        retry_backoff_max=RETRY_BACKOFF_MAX,
    )


@asynccontextmanager
async def open_share(
    target: ShareTarget, *, retry_backoff: float = RETRY_BACKOFF
) -> AsyncIterator[ShareConnection]:
    """Connect to ``target`` with its account key (SharedKey signing; the key never leaves the
    process other than as request signatures)."""
    from azure.storage.fileshare.aio import ShareClient

    transport = CountingTransport(connection_timeout=20, read_timeout=120)
    share = ShareClient(
        account_url=target.account_url,
        share_name=target.share_name,
        credential={"account_name": target.account_name, "account_key": target.account_key},
        transport=transport,
        retry_policy=retry_policy(retry_backoff),
    )
    async with share:
        await transport.open()
        assert transport.session is not None
        lean = LeanShare(
            transport.session,
            account_url=target.account_url,
            account_name=target.account_name,
            account_key=target.account_key,
            share_name=target.share_name,
            api_version=share.api_version,
            count=transport.count,
            retry_total=RETRY_TOTAL,
            retry_backoff=retry_backoff,
            retry_backoff_max=RETRY_BACKOFF_MAX,
        )
        try:
            yield ShareConnection(share, transport, lean)
        finally:
            await lean.close()
