"""Calls from an operation's worker thread into the server's event loop.

Each provision/deploy/status runs on its own event loop in a worker thread (so a blocking step
inside the core can never stall the server); everything that talks to the client goes through
here, which hands it to the server loop, the only place pygls may be used.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aitk_inference.core.reporting import CancellationToken

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer


def plain(value: Any) -> Any:
    """pygls turns untyped JSON objects (custom methods' params and results) into namedtuples;
    give the rest of the server the plain JSON shapes back."""
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {key: plain(item) for key, item in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


class ClientBridge:
    def __init__(self, ls: LanguageServer, loop: asyncio.AbstractEventLoop) -> None:
        self.ls = ls
        self.loop = loop

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the server loop, in call order (FIFO), from any thread."""
        with contextlib.suppress(RuntimeError):  # loop closed: the server is exiting
            self.loop.call_soon_threadsafe(fn, *args)

    def notify(self, method: str, params: Any) -> None:
        self.call_soon(self.ls.protocol.notify, method, params)

    async def request(self, method: str, params: Any, cancel: CancellationToken | None = None) -> Any:
        """Send a request to the client and wait for its answer; a cancel stops the wait
        (raising ``OperationCancelled``) so a pending picker never holds an operation up."""

        async def send() -> Any:
            return await self.ls.protocol.send_request_async(method, params)

        answer = asyncio.wrap_future(asyncio.run_coroutine_threadsafe(send(), self.loop))
        if cancel is None:
            return plain(await answer)
        cancelled = asyncio.ensure_future(cancel.wait())
        try:
            await asyncio.wait({answer, cancelled}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            cancelled.cancel()
        if not answer.done():
            answer.cancel()
            cancel.raise_if_cancelled()
        return plain(answer.result())
