"""Fault injection, switchable per test (Python API or POST /_emulator/faults)."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FaultRule:
    """One fault. Matches ``service`` (arm|file|ingress|any), ``method`` and a ``path`` regex
    (searched, case-insensitive) plus optional ``query`` substring; fires ``times`` times
    (-1: forever), after skipping the first ``skip`` matches.

    Kinds: ``status`` (e.g. 429/500/503 with optional ``retry_after`` seconds and an ARM error
    body), ``drop`` (read ``after_bytes`` of the request body, then drop the connection),
    ``delay`` (answer normally, ``delay_seconds`` late: a slow network or a busy service)."""

    kind: str = "status"
    service: str = "any"
    method: str | None = None
    path: str = ""
    query: str | None = None
    status: int = 503
    code: str = "ServiceUnavailable"
    message: str = "The service is temporarily unavailable (injected fault)."
    retry_after: float | None = None
    after_bytes: int = 0
    delay_seconds: float = 0.0
    times: int = 1
    skip: int = 0
    fired: int = 0
    seen: int = 0

    def matches(self, service: str, method: str, path: str, query: str) -> bool:
        if self.service not in ("any", service):
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        if self.path and not re.search(self.path, path, re.IGNORECASE):
            return False
        return not (self.query and self.query not in query)


@dataclass
class FaultInjector:
    rules: list[FaultRule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **kwargs: Any) -> FaultRule:
        rule = FaultRule(**kwargs)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def take(self, service: str, method: str, path: str, query: str) -> FaultRule | None:
        """The first armed rule matching this request (consumes one firing)."""
        with self._lock:
            for rule in self.rules:
                if rule.times != -1 and rule.fired >= rule.times:
                    continue
                if not rule.matches(service, method, path, query):
                    continue
                rule.seen += 1
                if rule.seen <= rule.skip:
                    continue
                rule.fired += 1
                return rule
        return None
