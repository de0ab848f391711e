"""Running operations: one provision/deploy per project folder, cancel by request id or progress
token, and the worker thread each operation runs on."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from aitk_inference.core.errors import AlreadyRunning
from aitk_inference.core.reporting import CancellationToken

T = TypeVar("T")


@dataclass(eq=False)
class Operation:
    kind: str
    folder: Path
    exclusive: bool = False  # changes the cloud or the share: at most one such per project folder
    request_id: Any = None
    progress_token: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loop: asyncio.AbstractEventLoop | None = None
    _token: CancellationToken | None = None
    _cancel_requested: bool = False

    def cancel(self) -> None:
        """From any thread; takes effect at the core's next safe point (or at once if not started)."""
        with self._lock:
            self._cancel_requested = True
            loop, token = self._loop, self._token
        if loop is not None and token is not None:
            with contextlib.suppress(RuntimeError):  # its loop already finished
                loop.call_soon_threadsafe(token.cancel)

    @property
    def cancel_requested(self) -> bool:
        return self._cancel_requested

    def _attach(self, token: CancellationToken) -> None:
        with self._lock:
            self._loop, self._token = asyncio.get_running_loop(), token
            if self._cancel_requested:
                token.cancel()

    async def run_in_worker(self, work: Callable[[CancellationToken], Awaitable[T]]) -> T:
        """Run ``work`` on a fresh event loop in a worker thread; the server loop stays free to
        answer other requests (a status, a cancel) whatever the core does meanwhile."""

        async def main() -> T:
            token = CancellationToken()  # its asyncio.Event belongs to this loop
            self._attach(token)
            return await work(token)

        server_loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = server_loop.create_future()

        def settle(result: T | None, error: BaseException | None) -> None:
            if done.done():
                return
            if error is not None:
                done.set_exception(error)
            else:
                done.set_result(result)  # type: ignore[arg-type]

        def thread_main() -> None:
            result: T | None = None
            error: BaseException | None = None
            try:
                result = asyncio.run(main())
            except BaseException as exc:
                error = exc
            with contextlib.suppress(RuntimeError):  # the server loop is gone: exiting
                server_loop.call_soon_threadsafe(settle, result, error)

        # A daemon thread: an operation stuck on a question the client never answers must not
        # keep the process alive after the client says exit.
        threading.Thread(target=thread_main, name=f"aitk-{self.kind}", daemon=True).start()
        return await done


class OperationRegistry:
    def __init__(self) -> None:
        self._running: set[Operation] = set()
        # Commands still choosing their folder (maybe waiting on a picker): cancellable too.
        self._preparing: dict[int, tuple[Any, Any, CancellationToken]] = {}

    def prepare(self, request_id: Any, progress_token: Any) -> CancellationToken:
        """On the server loop, before the operation is registered."""
        token = CancellationToken()
        self._preparing[id(token)] = (request_id, progress_token, token)
        return token

    def prepared(self, token: CancellationToken) -> None:
        self._preparing.pop(id(token), None)

    def start(
        self, kind: str, folder: Path, *, exclusive: bool, request_id: Any, progress_token: Any
    ) -> Operation:
        if exclusive:
            for op in self._running:
                if op.exclusive and op.folder == folder:
                    raise AlreadyRunning(
                        f"A {op.kind} is already running for {folder}.",
                        hint="Wait for it to finish, or cancel it from its progress notification.",
                        code="AlreadyRunning",
                    )
        op = Operation(kind, folder, exclusive, request_id=request_id, progress_token=progress_token)
        self._running.add(op)
        return op

    def finish(self, op: Operation) -> None:
        self._running.discard(op)

    def cancel_all(self) -> None:
        self._cancel(lambda op: True)
        for _request, _progress, token in list(self._preparing.values()):
            token.cancel()

    def cancel_request(self, request_id: Any) -> bool:
        found = self._cancel(lambda op: op.request_id is not None and op.request_id == request_id)
        return self._cancel_preparing(0, request_id) or found

    def cancel_progress(self, token: Any) -> bool:
        found = self._cancel(lambda op: op.progress_token is not None and op.progress_token == token)
        return self._cancel_preparing(1, token) or found

    def _cancel_preparing(self, index: int, key: Any) -> bool:
        found = [
            entry[2] for entry in self._preparing.values() if entry[index] is not None and entry[index] == key
        ]
        for token in found:
            token.cancel()
        return bool(found)

    def _cancel(self, match: Callable[[Operation], bool]) -> bool:
        found = [op for op in self._running if match(op)]
        for op in found:
            op.cancel()
        return bool(found)
