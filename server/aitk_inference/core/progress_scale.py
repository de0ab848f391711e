"""Maps a sub-step's own 0-100 percentages into its slice of the whole operation's bar."""

from __future__ import annotations

from aitk_inference.core.reporting import Progress


class ScaledProgress:
    def __init__(self, inner: Progress, low: float, high: float, prefix: str = "") -> None:
        self.inner = inner
        self.low = low
        self.high = high
        self.prefix = prefix
        self._last = low

    def report(self, message: str, percentage: float | None = None) -> None:
        if percentage is not None:
            scaled = self.low + (self.high - self.low) * max(0.0, min(100.0, percentage)) / 100.0
            self._last = max(self._last, scaled)  # never let the overall bar go backwards
        self.inner.report(f"{self.prefix}{message}", self._last)

    def log(self, message: str, level: str = "info") -> None:
        self.inner.log(message, level)
