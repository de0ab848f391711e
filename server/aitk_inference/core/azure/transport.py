"""The aiohttp transport every Azure SDK client here uses: one session, one connector and one SSL
context (the user's CA bundle) per client, so requests reuse its keep-alive TLS connections.

Why not azure-core's ``connection_verify=<CA path>``: given a path, azure-core builds a fresh
SSLContext per request, and aiohttp keys its connection pool on the context, so every request
would open (and park, buffers and all) a new TLS connection.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from azure.core.pipeline.transport import AioHttpTransport

from aitk_inference.core.azure.tls import ssl_context


class PooledAioHttpTransport(AioHttpTransport):  # type: ignore[misc]  # azure-core is untyped here
    """Creates its session on first use (a session needs the running event loop, client
    factories may run before one exists) and closes it with the client."""

    session: aiohttp.ClientSession | None
    _has_been_opened: bool
    _use_env_settings: bool

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(session_owner=True, **kwargs)

    async def open(self) -> None:
        if self.session is None and not self._has_been_opened:
            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=ssl_context()),
                trust_env=self._use_env_settings,  # proxies from the environment, as azure-core does
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
            )
        await super().open()
