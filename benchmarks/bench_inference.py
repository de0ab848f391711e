"""Inference app overhead: HTTP API (non-streaming and streaming) vs ``model.generate`` in-process.

Run: ``.venv/bin/python -m benchmarks.bench_inference``. Builds a tiny model on the fly, serves it with
the real app (uvicorn in a thread, same process, same Engine), and prints per-request and per-token
overhead next to the direct-call baseline measured in the same run.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import torch
import uvicorn

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "inference"))

from api import build_api  # noqa: E402
from engine import Engine  # noqa: E402
from settings import parse  # noqa: E402

from tests.inference.tiny_model import build_share  # noqa: E402

MESSAGES = [{"role": "user", "content": "hello world"}]
REPEATS = 15


def direct(engine: Engine, tokens: int) -> float:
    ids = engine.encode(MESSAGES)
    started = time.perf_counter()
    with torch.inference_mode():
        engine.model.generate(
            input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=tokens, do_sample=False
        )
    return time.perf_counter() - started


def via_http(client: httpx.Client, url: str, tokens: int, stream: bool) -> float:
    body = {"messages": MESSAGES, "max_tokens": tokens, "temperature": 0, "stream": stream}
    started = time.perf_counter()
    if stream:
        with client.stream("POST", url, json=body) as resp:
            for _ in resp.iter_lines():
                pass
    else:
        client.post(url, json=body).raise_for_status()
    return time.perf_counter() - started


def median(fn, *args) -> float:  # type: ignore[no-untyped-def]
    fn(*args)  # warm-up
    return statistics.median(fn(*args) for _ in range(REPEATS))


def main() -> None:
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        mount = Path(tmp)
        base, adapter = build_share(mount)
        engine = Engine(parse(["--base-model-path", str(base), "--adapter-path", str(adapter)]))
        app = build_api(engine)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        short, long = 1, 64
        with httpx.Client(timeout=120) as client:
            rows = {
                "direct model.generate": (median(direct, engine, short), median(direct, engine, long)),
                "API, non-streaming": (
                    median(via_http, client, url, short, False),
                    median(via_http, client, url, long, False),
                ),
                "API, streaming (SSE)": (
                    median(via_http, client, url, short, True),
                    median(via_http, client, url, long, True),
                ),
            }
        server.should_exit = True
        thread.join(timeout=10)

    base_short, base_long = rows["direct model.generate"]
    base_per_token = (base_long - base_short) / (long - short)
    print(f"tiny Llama (2 layers), CPU, 1 torch thread; median of {REPEATS}; {short} vs {long} new tokens")
    print(
        f"{'path':24} {'1 token ms':>11} {'64 tokens ms':>13} {'per token ms':>13} {'req overhead ms':>16} {'token overhead':>15}"
    )
    for name, (t_short, t_long) in rows.items():
        per_token = (t_long - t_short) / (long - short)
        print(
            f"{name:24} {t_short * 1e3:11.2f} {t_long * 1e3:13.2f} {per_token * 1e3:13.3f} "
            f"{(t_short - base_short) * 1e3:16.2f} {per_token / base_per_token:14.2f}x"
        )


if __name__ == "__main__":
    main()
