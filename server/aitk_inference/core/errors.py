"""User-facing errors: one clear paragraph saying what is wrong and what to do."""

from __future__ import annotations

from collections.abc import Sequence


def first_few(items: Sequence[str], limit: int = 10, sep: str = ", ", more_sep: str = " ") -> str:
    """The first ``limit`` items joined, then how many more: a message naming many paths stays
    one readable paragraph."""
    shown = sep.join(items[:limit])
    return shown + (f"{more_sep}and {len(items) - limit} more" if len(items) > limit else "")


class AitkError(Exception):
    """An error the user can act on.

    ``message`` says what went wrong (naming the file and key where there is
    one); ``hint`` says what to do about it. Both are plain words, shown as-is
    by the CLI and the VS Code notification. Never put secrets in either.
    """

    def __init__(self, message: str, *, hint: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class ConfigError(AitkError):
    """A project file (config, parameters, template) is missing or malformed."""


class AzureOperationError(AitkError):
    """Azure refused or failed an operation (after retries)."""


class OperationCancelled(AitkError):
    """The user cancelled; the share and config are left consistent."""

    def __init__(self, message: str = "Cancelled.") -> None:
        super().__init__(message, code="Cancelled")


class AlreadyRunning(AitkError):
    """A provision or deploy is already running for this project folder."""
