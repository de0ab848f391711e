"""Language server start-up: process start -> ``initialize`` answered, next to ``python -c pass``.

Run: ``.venv/bin/python -m benchmarks.bench_lsp_startup`` (about 10 seconds).

Both are measured in the same run with the same interpreter, alternating, so the ratio compares
like with like: how much the server adds on top of starting Python at all. The server is started
the way the extension starts it (``python -m aitk_inference serve``) and driven with raw JSON-RPC
over its stdio (no client library on the measuring side). After the last run the script also
lists which heavy Azure SDK modules the server imports before answering (should be none).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 10
HEAVY = ("azure", "aiohttp")  # azure.core included: only the first command needs it


def _frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def _read_message(stream: object) -> dict[str, object]:
    headers: dict[str, str] = {}
    while True:
        line = stream.readline()  # type: ignore[attr-defined]
        if not line:
            raise RuntimeError("server closed its stdout before answering initialize")
        line = line.decode().strip()
        if not line:
            break
        key, _, value = line.partition(":")
        headers[key.lower()] = value.strip()
    body = stream.read(int(headers["content-length"]))  # type: ignore[attr-defined]
    return json.loads(body)  # type: ignore[no-any-return]


def time_python_pass() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - start


def time_server_initialize(extra_code: str | None = None) -> tuple[float, object]:
    command = [sys.executable, "-m", "aitk_inference", "serve"]
    if extra_code is not None:  # same server, plus a report of sys.modules after initialize
        command = [sys.executable, "-c", extra_code]
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdin and proc.stdout
    root = Path.cwd().as_uri()
    proc.stdin.write(
        _frame(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {"processId": os.getpid(), "rootUri": root, "capabilities": {}},
            }
        )
    )
    proc.stdin.flush()
    extra: object = None
    while True:
        message = _read_message(proc.stdout)
        if message.get("method") == "bench/modules":
            extra = message.get("params")
        if message.get("id") == 1:
            break
    elapsed = time.perf_counter() - start
    proc.stdin.write(_frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
    proc.stdin.write(_frame({"jsonrpc": "2.0", "method": "exit"}))
    proc.stdin.flush()
    proc.wait(timeout=30)
    return elapsed, extra


MODULE_REPORT = f"""
from lsprotocol import types
from aitk_inference.lsp.server import create_server
import sys
server = create_server()
@server.feature(types.INITIALIZE)
def report(ls, params):
    ls.protocol.notify("bench/modules", sorted(m for m in sys.modules if m.startswith({HEAVY!r})))
server.start_io()
"""


def main() -> None:
    time_python_pass()  # warm the file cache for both
    time_server_initialize()
    baseline, server = [], []
    for _ in range(RUNS):
        baseline.append(time_python_pass())
        server.append(time_server_initialize()[0])
    base_ms, server_ms = statistics.median(baseline) * 1000, statistics.median(server) * 1000
    print(f"python -c pass                      : {base_ms:7.1f} ms (median of {RUNS})")
    print(f"aitk-inference serve -> initialize  : {server_ms:7.1f} ms (median of {RUNS})")
    print(f"ratio                               : {server_ms / base_ms:7.2f}x")
    _elapsed, report = time_server_initialize(MODULE_REPORT)
    print(f"heavy SDK modules loaded at start-up : {report}")


if __name__ == "__main__":
    main()
