"""Run many coroutines with a concurrency limit; the first failure cancels the rest."""

from __future__ import annotations

import asyncio
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

    tasks = [asyncio.create_task(lane()) for _ in range(min(limit, len(queue)))]
    if not tasks:
        return []
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return results  # type: ignore[return-value]
