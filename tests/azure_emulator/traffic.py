"""Every request/response pair the emulator serves, for the fidelity checks."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

# Bodies of these content types are kept whole; others (file bytes) only by length.
_TEXT_TYPES = ("application/json", "application/xml", "text/")


@dataclass
class Exchange:
    service: str  # arm | file | ingress
    method: str
    url: str
    path: str
    query: dict[str, str]
    route: str | None  # the router template that handled it, None if unmatched
    request_headers: dict[str, str]
    request_body: bytes | None
    request_length: int
    status: int
    response_headers: dict[str, str]
    response_body: bytes | None


def keep_body(content_type: str | None, body: bytes) -> bytes | None:
    if content_type and any(t in content_type for t in _TEXT_TYPES):
        return body
    return None if body else b""


@dataclass
class TrafficLog:
    enabled: bool = True
    exchanges: list[Exchange] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, exchange: Exchange) -> None:
        if self.enabled:
            with self._lock:
                self.exchanges.append(exchange)

    def snapshot(self) -> list[Exchange]:
        with self._lock:
            return list(self.exchanges)

    def clear(self) -> None:
        with self._lock:
            self.exchanges.clear()
