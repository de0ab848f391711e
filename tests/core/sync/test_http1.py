"""The sync's lean HTTP/1.1 client against scripted servers: framing, keep-alive, stale
connections, broken answers, timeouts, flow control and TLS trust."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aitk_inference.core.azure.advice import is_tls_failure
from aitk_inference.core.sync.http1 import ConnectFailed, Http1Pool, Response, ResponseLost
from aitk_inference.core.sync.socket_transport import SocketTransport

from tests.azure_emulator.certs import Certificates

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Server:
    """A TCP (or TLS) server running ``script`` per connection; counts connections and requests."""

    def __init__(self, script: Script, context: ssl.SSLContext | None = None) -> None:
        self.script = script
        self.context = context
        self.connections = 0
        self.requests: list[bytes] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Server:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            try:
                await self.script(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
                pass
            finally:
                writer.close()

        self._server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=self.context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def read_request(self, reader: asyncio.StreamReader) -> bytes:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await reader.readexactly(length) if length else b""
        self.requests.append(head + body)
        return body


class Pools(list[Http1Pool]):
    """The pools a test made (closed afterwards), all on one transport: sockets driven from the
    selector (``direct``) or asyncio's transports (the proactor loop's path on Windows)."""

    def __init__(self, direct: bool) -> None:
        super().__init__()
        self.direct = direct

    def make(
        self, port: int, context: ssl.SSLContext | None = None, read_timeout: float = 120.0
    ) -> Http1Pool:
        pool = Http1Pool("127.0.0.1", port, context, read_timeout=read_timeout, direct=self.direct)
        self.append(pool)
        return pool


@pytest.fixture(params=[True, False], ids=["direct", "asyncio"])
async def pools(request: pytest.FixtureRequest) -> AsyncIterator[Pools]:
    made = Pools(request.param)
    yield made
    for pool in made:
        await pool.close()


def pool_for(server: Server, pools: Pools, read_timeout: float = 120.0) -> Http1Pool:
    return pools.make(server.port, read_timeout=read_timeout)


def answer(server: Server, *responses: bytes) -> Script:
    """Answer each request on a connection with the next of ``responses`` (then keep it open)."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for response in responses:
            await server.read_request(reader)
            writer.write(response)
            await writer.drain()
        await reader.read()  # until the client closes

    return script


async def test_a_content_length_body_and_the_connection_kept_for_the_next_request(
    pools: Pools,
) -> None:
    server = Server(lambda r, w: asyncio.sleep(0))
    server.script = answer(
        server,
        b'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: "0x1"\r\nx-ms-meta-a: 1\r\nx-ms-meta-a: 2\r\n\r\nhello',
        b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
    )
    async with server:
        pool = pool_for(server, pools)
        first = await pool.request("GET", "/acct/share/a?comp=list", {"x-ms-version": "2026-10-06"})
        second = await pool.request("PUT", "/acct/share/b", {"content-length": "3"}, b"abc")
    assert first == Response(200, {"content-length": "5", "etag": '"0x1"', "x-ms-meta-a": "1, 2"}, b"hello")
    assert second == Response(201, {"content-length": "0"}, b"")
    assert server.connections == 1
    assert server.requests[0].startswith(
        f"GET /acct/share/a?comp=list HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n".encode()
    )
    assert server.requests[1].endswith(b"\r\n\r\nabc")


async def test_a_chunked_body_split_anywhere_with_trailers(pools: Pools) -> None:
    body = b"7\r\n<a>1</a\r\n1;ext=x\r\n>\r\n0\r\nx-trailer: y\r\n\r\n"
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(2):
            await server.read_request(reader)
            for i in range(len(head + body)):  # one byte per packet: every split point
                writer.write((head + body)[i : i + 1])
                await writer.drain()
        await reader.read()

    server = Server(script)
    async with server:
        pool = pool_for(server, pools)
        for _ in range(2):  # the second proves the first was framed exactly (nothing left over)
            response = await pool.request("GET", "/x", {})
            assert response.body == b"<a>1</a>"
    assert server.connections == 1


async def test_an_interim_answer_is_skipped_and_a_body_may_run_until_close(pools: Pools) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it"
        )
        await writer.drain()

    server = Server(script)
    async with server:
        pool = pool_for(server, pools)
        response = await pool.request("GET", "/x", {})
        assert (response.status, response.body) == (200, b"all of it")
        assert (await pool.request("GET", "/x", {})).body == b"all of it"  # a new connection
    assert server.connections == 2


async def test_connection_close_is_honoured(pools: Pools) -> None:
    server = Server(lambda r, w: asyncio.sleep(0))
    server.script = answer(
        server,
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
        b"HTTP/1.1 500 Not this one\r\nContent-Length: 0\r\n\r\n",
    )
    async with server:
        pool = pool_for(server, pools)
        assert (await pool.request("GET", "/x", {})).status == 200
        assert (await pool.request("GET", "/x", {})).status == 200
    assert server.connections == 2


async def test_a_kept_connection_the_server_dropped_is_replaced_once(pools: Pools) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        # then close without a word, as a server does with an idle connection

    server = Server(script)
    async with server:
        pool = pool_for(server, pools)
        assert (await pool.request("GET", "/1", {})).body == b"ok"
        await asyncio.sleep(0.05)
        assert (await pool.request("GET", "/2", {})).body == b"ok"
    assert server.connections == 2
    assert [r.split(b" ")[1] for r in server.requests] == [b"/1", b"/2"]


async def test_an_answer_cut_short_is_reported_not_retried(pools: Pools) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nonly5")
        await writer.drain()

    server = Server(script)
    async with server:
        pool = pool_for(server, pools)
        with pytest.raises(ResponseLost) as exc:
            await pool.request("GET", "/x", {})
    assert str(exc.value) == "the connection closed before a whole response arrived"
    assert server.connections == 1


async def test_something_that_is_not_http_is_refused(pools: Pools) -> None:
    server = Server(lambda r, w: asyncio.sleep(0))
    server.script = answer(server, b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
    async with server:
        pool = pool_for(server, pools)
        with pytest.raises(ResponseLost) as exc:
            await pool.request("GET", "/x", {})
    assert str(exc.value) == "not an HTTP/1.1 answer: 'SSH-2.0-OpenSSH_9.6'"


async def test_a_silent_server_times_out(pools: Pools) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        await reader.read()

    server = Server(script)
    async with server:
        pool = pool_for(server, pools, read_timeout=0.2)
        with pytest.raises(TimeoutError) as exc:
            await pool.request("GET", "/x", {})
    assert str(exc.value) == "no answer for 0.2 s"


async def test_nobody_listening_fails_to_connect(pools: Pools) -> None:
    probe = Server(lambda r, w: asyncio.sleep(0))
    async with probe:
        port = probe.port
    pool = pools.make(port)
    with pytest.raises(ConnectFailed) as exc:
        await pool.request("GET", "/x", {})
    assert str(exc.value).startswith(f"cannot connect to 127.0.0.1:{port}: ")
    assert isinstance(exc.value.__cause__, ConnectionRefusedError)


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
async def test_a_big_body_goes_out_whole_under_flow_control(tmp_path: Path, pools: Pools, tls: bool) -> None:
    """TLS included: OpenSSL must be offered the same bytes again after "want write"."""
    data = bytes(range(256)) * (4 * 4096)  # 4 MiB
    certs = Certificates(tmp_path / "certs") if tls else None

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(2):
            await asyncio.sleep(0.2)  # let the client's buffer fill: it must pause, not pile up
            body = await server.read_request(reader)
            writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n" if body == data else b"")
            await writer.drain()
        await reader.read()

    server = Server(script, certs.server_context() if certs else None)
    async with server:
        context = ssl.create_default_context(cafile=str(certs.ca_path)) if certs else None
        pool = pools.make(server.port, context)
        for _ in range(2):  # the connection is reused: nothing of the first body is left over
            response = await pool.request("PUT", "/x", {"content-length": str(len(data))}, data)
            assert response.status == 201
    assert server.connections == 1


async def test_tls_with_the_trusted_ca_and_an_untrusted_one(tmp_path: Path, pools: Pools) -> None:
    certs = Certificates(tmp_path / "certs")
    server = Server(lambda r, w: asyncio.sleep(0), certs.server_context())
    server.script = answer(server, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    async with server:
        trusted = pools.make(server.port, ssl.create_default_context(cafile=str(certs.ca_path)))
        assert (await trusted.request("GET", "/x", {})).body == b"ok"
        untrusted = pools.make(server.port, ssl.create_default_context())
        with pytest.raises(ConnectFailed) as exc:
            await untrusted.request("GET", "/x", {})
    assert is_tls_failure(exc.value)


async def test_an_early_answer_then_a_server_that_stops_reading_does_not_hang(pools: Pools) -> None:
    """The server answers (e.g. 403) before reading a big body, then keeps the connection open
    without reading: the request must end (with the answer or a timeout), not wait forever."""
    data = b"x" * (64 * 1024 * 1024)

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(30)  # never reads the body

    server = Server(script)
    async with server:
        pool = pool_for(server, pools, read_timeout=1.0)
        try:
            response = await asyncio.wait_for(
                pool.request("PUT", "/x", {"content-length": str(len(data))}, data), timeout=5
            )
        except TimeoutError as err:
            assert str(err) == "no answer for 1 s"  # the client's own timeout, not this test's
        else:
            assert response.status == 403


def test_a_negative_chunk_size_is_refused_not_an_endless_loop() -> None:
    """``int('-6', 16)`` is -6: the chunk position goes back to the start of the buffer and the
    parser spins forever inside data_received, freezing the event loop (the whole server)."""
    script = textwrap.dedent(
        """
        import asyncio
        from aitk_inference.core.sync.http1 import Http1Pool, ResponseLost

        async def handle(reader, writer):
            await reader.readuntil(b"\\r\\n\\r\\n")
            writer.write(b"HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n-6\\r\\n")
            await writer.drain()
            await asyncio.sleep(5)

        async def main():
            server = await asyncio.start_server(handle, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            pool = Http1Pool("127.0.0.1", port, None, read_timeout=2)
            try:
                await pool.request("GET", "/x", {})
            except ResponseLost as err:
                print("refused:", err)
            finally:
                await pool.close()
                server.close()

        asyncio.run(main())
        """
    )
    try:
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("the client spun forever on a negative chunk size")
    assert done.stdout.strip() == "refused: an invalid chunk size", done.stderr


async def test_a_failure_inside_the_protocol_closes_the_connection_with_it() -> None:
    """The transport's reader is a bare selector callback: a protocol that raises must see the
    connection lost with that error (its waiter fails now), not leave the request hanging."""
    loop = asyncio.get_running_loop()
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    lost: asyncio.Future[Exception | None] = loop.create_future()

    class Broken(asyncio.Protocol):
        def data_received(self, data: bytes) -> None:
            raise ValueError("a bug in the parser")

        def connection_lost(self, exc: Exception | None) -> None:
            lost.set_result(exc)

    SocketTransport(loop, ours, Broken())
    theirs.sendall(b"HTTP/1.1 200 OK\r\n")
    exc = await asyncio.wait_for(lost, 5)
    theirs.close()
    assert isinstance(exc, ValueError) and str(exc) == "a bug in the parser"
    assert ours.fileno() == -1  # closed


class CountingSocket(socket.socket):
    """A plain socket that counts reads, and reads that found nothing to read."""

    reads = 0
    would_block = 0

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self.reads += 1
        try:
            return super().recv(bufsize, flags)
        except BlockingIOError:
            self.would_block += 1
            raise


async def test_a_whole_answer_is_read_without_a_read_that_finds_nothing() -> None:
    """Once the protocol expects no more bytes the transport stops reading (one system call
    less per response); bytes that come later are still read, as the selector calls again."""
    loop = asyncio.get_running_loop()
    ours, theirs = socket.socketpair()
    counting = CountingSocket(ours.family, ours.type, ours.proto, fileno=ours.detach())
    counting.setblocking(False)
    got = bytearray()
    arrived = asyncio.Event()

    class Answer(asyncio.Protocol):
        def data_received(self, data: bytes) -> None:
            got.extend(data)
            arrived.set()

        def expecting_data(self) -> bool:
            return bytes(got) != b"whole answer"

    transport = SocketTransport(loop, counting, Answer())
    try:
        theirs.sendall(b"whole answer")
        await asyncio.wait_for(arrived.wait(), 5)
        await asyncio.sleep(0.05)  # a transport reading on would have tried again by now
        assert (bytes(got), counting.reads, counting.would_block) == (b"whole answer", 1, 0)
        arrived.clear()
        theirs.sendall(b" and more")
        await asyncio.wait_for(arrived.wait(), 5)
        assert bytes(got) == b"whole answer and more"
    finally:
        transport.close()
        theirs.close()
