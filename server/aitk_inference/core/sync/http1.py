"""A small HTTP/1.1 client for the sync's hot requests: keep-alive TLS connections to one origin.

Why not aiohttp here: its per-request machinery (request and response objects, header
multidicts, timers, tracing hooks) costs ~0.1 ms of CPU per request, as much as the service's
own work on a listing or a small file. A sync of tens of thousands of files sends tens of thousands
of such requests, so this client does the least HTTP/1.1 needs: one request at a time per
connection, responses framed by Content-Length, chunked encoding or connection close, connections
reused until the server closes them or they idle for ``IDLE_SECONDS``. TLS, certificate checks and
the user's CA bundle are the standard library's (the same ``ssl_context`` as every Azure client).
On selector event loops (Linux, macOS) the socket is read and written straight from the loop's
readiness callbacks (:mod:`socket_transport`); elsewhere asyncio's own transports carry it.

Only direct connections: when the environment names a proxy for the endpoint, the caller keeps
using aiohttp (which speaks CONNECT and proxy authentication).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from typing import Any, NamedTuple

from aitk_inference.core.sync.socket_transport import SocketTransport, open_socket, selector_loop

IDLE_SECONDS = 15.0  # a connection idle longer is not reused (servers drop idle connections)
_MAX_HEAD = 64 * 1024
_JOIN_BODY = 15 * 1024  # a body up to this size goes in one write with its head: one TLS record


class ConnectFailed(ConnectionError):
    """The connection could not be opened (DNS, refused, TLS handshake); the cause is chained."""


class ResponseLost(ConnectionError):
    """The connection broke, or the server answered with something that is not HTTP/1.1, before
    a whole response arrived."""


class Response(NamedTuple):
    status: int
    headers: dict[str, str]  # names lower-case; repeated headers joined with ", "
    body: bytes


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[Response] | None = None
        self.no_body = False  # the request was a HEAD
        self.closed = False
        self.answered = False  # bytes arrived during the current exchange
        self.keep = True  # False once the server said Connection: close
        self.last_used = time.monotonic()
        self.last_data = self.last_used
        self._head_scanned = 0
        self._head: tuple[int, dict[str, str]] | None = None
        self._chunk_pos = 0  # chunked bodies: where the next chunk header starts
        self._chunks: list[bytes] = []
        self._writable: asyncio.Future[None] | None = None

    # -- asyncio.Protocol -------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.last_data = time.monotonic()
        self.answered = True
        self.buffer += data
        if self.waiter is None or self.waiter.done():
            self.abort()  # bytes nobody asked for: this connection cannot be trusted any more
            return
        try:
            response = self._parse()
        except ResponseLost as err:
            self.abort()
            self._fail(err)
            return
        if response is not None:
            self.waiter.set_result(response)

    def expecting_data(self) -> bool:
        """Whether an answer is still being read (:class:`SocketTransport` stops reading when not)."""
        return self.waiter is not None and not self.waiter.done()

    def eof_received(self) -> bool | None:
        self.keep = False
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        if self.waiter is None or self.waiter.done():
            return
        head = self._head
        if exc is None and head is not None and self._until_close(head):
            self.waiter.set_result(Response(head[0], head[1], bytes(self.buffer)))
            return
        lost = ResponseLost("the connection closed before a whole response arrived")
        lost.__cause__ = exc
        self.waiter.set_exception(lost)

    def pause_writing(self) -> None:
        if self._writable is None or self._writable.done():
            self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        self.last_data = time.monotonic()  # sending progresses: not a quiet connection
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    # -- one exchange -------------------------------------------------------------
    async def exchange(self, head: bytes, body: bytes | None, no_body: bool, quiet_limit: float) -> Response:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self.waiter = loop.create_future()
        self.no_body = no_body
        self.answered = False
        self._head_scanned = self._chunk_pos = 0
        self._head = None
        self._chunks = []
        self.last_data = time.monotonic()
        if self.closed:
            raise ResponseLost("the connection was closed")
        timer = loop.call_later(quiet_limit, self._check_idle, quiet_limit)
        try:
            if body and len(body) <= _JOIN_BODY:
                self.transport.write(head + body)  # one TLS record and one send, not two
            else:
                self.transport.write(head)
                if body:
                    self.transport.write(body)
            if self._writable is not None and not self._writable.done():
                # Flow control: the bytes in flight stay bounded. An answer (or a timeout) may
                # come before the body is out (a refusal): then this connection is done.
                either: set[asyncio.Future[Any]] = {self._writable, self.waiter}
                await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                if not self._writable.done():
                    self.abort()
            return await self.waiter
        finally:
            timer.cancel()
            self.waiter = None
            self.last_used = time.monotonic()

    def _check_idle(self, timeout: float) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        quiet = time.monotonic() - self.last_data
        if quiet < timeout:  # data came meanwhile: wait the rest
            asyncio.get_running_loop().call_later(timeout - quiet, self._check_idle, timeout)
            return
        self.abort()
        waiter.set_exception(TimeoutError(f"no answer for {timeout:g} s"))

    def _fail(self, err: BaseException) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(err)

    def abort(self) -> None:
        self.keep = False
        if self.transport is not None and not self.closed:
            self.transport.abort()

    # -- parsing --------------------------------------------------------------------
    def _parse(self) -> Response | None:
        while self._head is None:
            end = self.buffer.find(b"\r\n\r\n", max(0, self._head_scanned - 3))
            if end < 0:
                if len(self.buffer) > _MAX_HEAD:
                    raise ResponseLost("the response headers are too long")
                self._head_scanned = len(self.buffer)
                return None
            status, headers = _parse_head(bytes(self.buffer[:end]))
            del self.buffer[: end + 4]
            self._head_scanned = 0
            if 100 <= status < 200:
                continue  # an interim answer (100 Continue): the real one follows
            self._head = status, headers
            if "close" in headers.get("connection", "").lower():
                self.keep = False
        status, headers = self._head
        if self.no_body or status in (204, 304):
            return Response(status, headers, b"")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._chunked(status, headers)
        length = headers.get("content-length")
        if length is not None:
            try:
                size = int(length)
            except ValueError:
                size = -1
            if size < 0:
                raise ResponseLost(f"an invalid Content-Length: {length!r}")
            if len(self.buffer) < size:
                return None
            body = bytes(self.buffer[:size])
            del self.buffer[:size]
            return Response(status, headers, body)
        return None  # the body runs until the server closes the connection

    def _chunked(self, status: int, headers: dict[str, str]) -> Response | None:
        buf = self.buffer
        while True:
            line_end = buf.find(b"\r\n", self._chunk_pos)
            if line_end < 0:
                return None
            try:
                size = int(bytes(buf[self._chunk_pos : line_end]).split(b";", 1)[0], 16)
            except ValueError:
                size = -1
            if size < 0:
                raise ResponseLost("an invalid chunk size")
            start = line_end + 2
            if size == 0:  # the last chunk, then trailers up to an empty line
                trailers_end = buf.find(b"\r\n", start)
                while trailers_end > start:  # skip trailer lines
                    start = trailers_end + 2
                    trailers_end = buf.find(b"\r\n", start)
                if trailers_end < 0:
                    return None
                del buf[: trailers_end + 2]
                self._chunk_pos = 0
                return Response(status, headers, b"".join(self._chunks))
            if len(buf) < start + size + 2:
                return None
            self._chunks.append(bytes(buf[start : start + size]))
            self._chunk_pos = start + size + 2

    def _until_close(self, head: tuple[int, dict[str, str]]) -> bool:
        headers = head[1]
        return "content-length" not in headers and "chunked" not in headers.get("transfer-encoding", "")


def _parse_head(raw: bytes) -> tuple[int, dict[str, str]]:
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if (
        len(parts) < 2
        or not parts[0].startswith("HTTP/1.")
        or not (parts[1].isascii() and parts[1].isdigit())
    ):
        raise ResponseLost(f"not an HTTP/1.1 answer: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise ResponseLost(f"a malformed header line: {line[:80]!r}")
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return int(parts[1]), headers


class Http1Pool:
    """Keep-alive connections to ``host:port`` over TLS, at most ``limit`` at once."""

    def __init__(
        self,
        host: str,
        port: int,
        context: ssl.SSLContext | None,
        *,
        limit: int = 100,
        connect_timeout: float = 20.0,
        read_timeout: float = 120.0,
        direct: bool | None = None,
    ) -> None:
        """``direct``: drive sockets from the selector (:class:`SocketTransport`); by default
        wherever the event loop can, else asyncio's transports."""
        self._direct = direct
        self._host = host
        self._port = port
        self._context = context
        name = f"[{host}]" if ":" in host else host  # an IPv6 literal goes in brackets
        self._host_header = name if port == (443 if context else 80) else f"{name}:{port}"
        self._slots = asyncio.Semaphore(limit)
        self._idle: deque[_Connection] = deque()
        self._open: set[_Connection] = set()
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout

    async def request(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None = None
    ) -> Response:
        """Send one request (``target``: the path and query as sent) and read its whole answer.
        Raises ConnectFailed, ResponseLost or TimeoutError. The one retry here: a kept-alive
        connection that turns out closed before any answer (the server dropped it while idle) is
        replaced once at once; anything else is the caller's to retry."""
        lines = [f"{method} {target} HTTP/1.1\r\nHost: {self._host_header}\r\n"]
        lines += [f"{name}: {value}\r\n" for name, value in headers.items()]
        lines.append("\r\n")
        head = "".join(lines).encode("latin-1")
        async with self._slots:
            conn = self._reuse()
            while True:
                reused = conn is not None
                if conn is None:
                    conn = await self._connect()
                try:
                    response = await conn.exchange(head, body, method == "HEAD", self._read_timeout)
                except ResponseLost:
                    self._drop(conn)
                    if reused and not conn.answered:
                        conn = None
                        continue
                    raise
                except BaseException:
                    self._drop(conn)
                    raise
                if conn.keep and not conn.closed and not conn.buffer:
                    self._idle.append(conn)
                else:
                    self._drop(conn)
                return response

    def _drop(self, conn: _Connection) -> None:
        conn.abort()
        self._open.discard(conn)

    def _reuse(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()  # the most recently used: the least likely to be stale
            if not conn.closed and now - conn.last_used < IDLE_SECONDS:
                return conn
            self._drop(conn)
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        direct = selector_loop(loop) if self._direct is None else self._direct
        try:
            async with asyncio.timeout(self._connect_timeout):
                if direct:
                    conn = _Connection()
                    SocketTransport(
                        loop, await open_socket(loop, self._host, self._port, self._context), conn
                    )
                else:
                    _, conn = await loop.create_connection(
                        _Connection,
                        self._host,
                        self._port,
                        ssl=self._context,
                        server_hostname=self._host if self._context else None,
                    )
        except (OSError, TimeoutError) as err:
            raise ConnectFailed(
                f"cannot connect to {self._host_header}: {err or type(err).__name__}"
            ) from err
        self._open.add(conn)
        return conn

    async def close(self) -> None:
        for conn in list(self._open):
            conn.abort()
        self._open.clear()
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports finish closing
