"""How the core talks to whoever drives it (CLI, LSP server, tests).

The core never prints and never imports UI code: it calls these interfaces.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


class Progress(Protocol):
    """Step messages and an optional overall percentage (0-100, non-decreasing)."""

    def report(self, message: str, percentage: float | None = None) -> None: ...

    def log(self, message: str, level: str = "info") -> None:
        """A line for the output panel / terminal. ``level``: info|warning|error|debug."""
        ...


@dataclass(frozen=True)
class Choice:
    label: str
    value: str
    description: str | None = None


class Prompter(Protocol):
    """Asks the user; returns None when the user dismisses the question."""

    async def pick(
        self,
        title: str,
        items: Sequence[Choice],
        *,
        placeholder: str | None = None,
        create_new_label: str | None = None,
    ) -> str | None:
        """Pick one item's value. When ``create_new_label`` is given and chosen,
        returns the sentinel :data:`CREATE_NEW`."""
        ...

    async def input(
        self, title: str, *, placeholder: str | None = None, value: str | None = None
    ) -> str | None: ...

    async def confirm(self, message: str) -> bool: ...


CREATE_NEW = "\x00create-new"


class CancellationToken:
    """Cooperative cancellation checked at safe points (between files, ranges, polls)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            from aitk_inference.core.errors import OperationCancelled

            raise OperationCancelled()

    async def wait(self) -> None:
        await self._event.wait()


class NullProgress:
    """Discards everything (for callers that do not care)."""

    def report(self, message: str, percentage: float | None = None) -> None:
        pass

    def log(self, message: str, level: str = "info") -> None:
        pass


@dataclass
class RecordingProgress:
    """Keeps every report and log line (used by tests and the LSP layer's tests)."""

    reports: list[tuple[str, float | None]] = field(default_factory=list)
    logs: list[tuple[str, str]] = field(default_factory=list)

    def report(self, message: str, percentage: float | None = None) -> None:
        self.reports.append((message, percentage))

    def log(self, message: str, level: str = "info") -> None:
        self.logs.append((message, level))


class NonInteractivePrompter:
    """For CI: any question is an error whose hint says which argument to pass instead."""

    def __init__(
        self, hint: str = "Pass it as an argument.", *, reason: str = "no value given and no way to ask"
    ) -> None:
        self.hint = hint
        self.reason = reason

    def _unanswerable(self, title: str) -> Exception:
        from aitk_inference.core.errors import AitkError

        return AitkError(f"{title}: {self.reason}.", hint=self.hint)

    async def pick(
        self,
        title: str,
        items: Sequence[Choice],
        *,
        placeholder: str | None = None,
        create_new_label: str | None = None,
    ) -> str | None:
        raise self._unanswerable(title)

    async def input(
        self, title: str, *, placeholder: str | None = None, value: str | None = None
    ) -> str | None:
        raise self._unanswerable(title)

    async def confirm(self, message: str) -> bool:
        return True
