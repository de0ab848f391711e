"""Run many coroutines with a concurrency limit; the first failure cancels the rest."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


async def run_bounded(items: Iterable[T], worker: Callable[[T], Awaitable[R]], limit: int) -> list[R]:
    """``worker(item)`` for each item, at most ``limit`` at a time, results in input order.

    Unlike ``gather``, a failure stops the others (cancelled and awaited) before the first error
    is re-raised as itself, not wrapped in an ExceptionGroup as TaskGroup would."""
    queue = list(enumerate(items))
    results: list[R | None] = [None] * len(queue)
    pending = iter(queue)

    async def lane() -> None:
        for index, item in pending:  # lanes share the iterator, so each item runs once
            results[index] = await worker(item)

    if queue:
        await _all_or_first_failure([asyncio.create_task(lane()) for _ in range(min(limit, len(queue)))])
    return results  # type: ignore[return-value]


async def run_bounded_tree(
    roots: Iterable[T], worker: Callable[[T], Awaitable[Iterable[T]]], limit: int
) -> None:
    """``worker(item)`` for each root and for each item a worker returns, at most ``limit`` at a
    time, each item as soon as the worker that found it returns (a tree is visited without
    waiting for a whole level). Failures behave as in :func:`run_bounded`."""
    todo: deque[T] = deque(roots)
    busy = 0
    changed = asyncio.Event()

    async def lane() -> None:
        nonlocal busy
        while True:
            while not todo:
                if not busy:  # nothing queued and nothing that could queue more: done
                    changed.set()
                    return
                changed.clear()
                await changed.wait()
            item = todo.popleft()
            busy += 1
            try:
                todo.extend(await worker(item))
            finally:
                busy -= 1
                changed.set()  # wakes idle lanes: more work, or the end

    if todo:
        await _all_or_first_failure([asyncio.create_task(lane()) for _ in range(limit)])


async def _all_or_first_failure(tasks: list[asyncio.Task[None]]) -> None:
    """Wait for ``tasks``; on the first failure cancel (and await) the others, then re-raise it."""
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
