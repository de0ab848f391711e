"""Core ``Progress`` -> ``$/progress`` (on the client's token) and ``window/logMessage``."""

from __future__ import annotations

import threading

from lsprotocol import types

from aitk_inference.lsp.bridge import ClientBridge
from aitk_inference.lsp.redact import redact

_LEVELS = {
    "error": types.MessageType.Error,
    "warning": types.MessageType.Warning,
    "info": types.MessageType.Info,
    "debug": types.MessageType.Log,
}


class LspProgress:
    """Thread-safe (the core calls it from the worker thread); everything is sent in call order.

    Percentages are clamped to be non-decreasing: a client progress bar must never move back.
    Without a token (the client sent none) only the log lines go out.
    """

    def __init__(self, bridge: ClientBridge, token: types.ProgressToken | None, *, prefix: str = "") -> None:
        self._bridge = bridge
        self._token = token
        self._prefix = prefix  # "[project] " when several folders are open: whose line it is
        self._percentage = 0
        self._lock = threading.Lock()
        self._ended = False

    def begin(self, title: str, *, cancellable: bool) -> None:
        if self._token is not None:
            value = types.WorkDoneProgressBegin(title=title, cancellable=cancellable, percentage=0)
            self._bridge.call_soon(self._bridge.ls.work_done_progress.begin, self._token, value)

    def report(self, message: str, percentage: float | None = None) -> None:
        with self._lock:
            if self._ended:
                return
            if percentage is not None:
                self._percentage = max(self._percentage, min(100, int(percentage)))
            current = self._percentage
        if self._token is not None:
            value = types.WorkDoneProgressReport(
                message=redact(message), percentage=current if percentage is not None else None
            )
            self._bridge.call_soon(self._bridge.ls.work_done_progress.report, self._token, value)

    def log(self, message: str, level: str = "info") -> None:
        params = types.LogMessageParams(
            type=_LEVELS.get(level, types.MessageType.Info), message=redact(self._prefix + message)
        )
        self._bridge.call_soon(self._bridge.ls.window_log_message, params)

    def end(self, message: str) -> None:
        with self._lock:
            if self._ended:
                return
            self._ended = True
        if self._token is not None:
            value = types.WorkDoneProgressEnd(message=message)
            self._bridge.call_soon(self._bridge.ls.work_done_progress.end, self._token, value)
