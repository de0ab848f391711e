"""Calls from an operation's worker thread into the server's event loop.

Each provision/deploy/status runs on its own event loop in a worker thread (so a blocking step
inside the core can never stall the server); everything that talks to the client goes through
here, which hands it to the server loop, the only place pygls may be used.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lsprotocol.types import CANCEL_REQUEST, CancelParams

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
        """Send a request to the client and wait for its answer. A cancel stops the wait (raising
        ``OperationCancelled``) and sends ``$/cancelRequest`` for it, so the client closes its
        picker, input box or sign-in; its late answer, if any, is dropped quietly (pygls' own
        future is never cancelled: a response to a cancelled one is reported as a server error)."""
        msg_id = f"aitk-{uuid.uuid4()}"
        worker = asyncio.get_running_loop()
        answer: asyncio.Future[Any] = worker.create_future()

        def settle(done: concurrent.futures.Future[Any]) -> None:
            if answer.done():
                return
            error = done.exception()
            if error is not None:
                answer.set_exception(error)
            else:
                answer.set_result(done.result())

        def on_answer(done: concurrent.futures.Future[Any]) -> None:  # on the server loop
            with contextlib.suppress(RuntimeError):  # the worker loop is gone: nobody waits
                worker.call_soon_threadsafe(settle, done)

        def send() -> None:  # on the server loop
            try:
                self.ls.protocol.send_request(method, params, msg_id=msg_id).add_done_callback(on_answer)
            except Exception as exc:  # e.g. the transport closed: the waiter gets the error
                failed: concurrent.futures.Future[Any] = concurrent.futures.Future()
                failed.set_exception(exc)
                on_answer(failed)

        self.call_soon(send)
        if cancel is None:
            return plain(await answer)
        cancelled = asyncio.ensure_future(cancel.wait())
        try:
            await asyncio.wait({answer, cancelled}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            cancelled.cancel()
        if not answer.done():
            answer.cancel()
            self.notify(CANCEL_REQUEST, CancelParams(id=msg_id))
            cancel.raise_if_cancelled()
        return plain(answer.result())
