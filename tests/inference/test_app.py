"""The inference app over real HTTP: OpenAI shapes (checked by the openai client), adapter effect,
continuous batching, disconnects, limits and OpenAI-style 4xx errors."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import openai
import pytest

from tests.inference.conftest import RunningApp

PROMPTS = ["hello world", "what is azure", "tell me one two three", "how big is the tree"]


def client(app: RunningApp) -> openai.OpenAI:
    return openai.OpenAI(base_url=app.url + "/v1", api_key=app.key, max_retries=0)


def aclient(app: RunningApp) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=app.url + "/v1", api_key=app.key, max_retries=0)


def greedy(app: RunningApp, prompt: str, max_tokens: int = 12) -> str:
    r = client(app).chat.completions.create(
        model="any", messages=[{"role": "user", "content": prompt}], max_tokens=max_tokens, temperature=0
    )
    return r.choices[0].message.content or ""


def engine_stats(app: RunningApp) -> dict[str, Any]:
    health = httpx.get(app.url + "/health").json()
    return dict(health["engine"], queue_depth=health["queue_depth"], running=health["running"])


def test_health_and_models(lora_app: RunningApp) -> None:
    health = httpx.get(lora_app.url + "/health").json()
    assert health["status"] == "ok" and health["model"] == "tiny-llama-lora"
    assert health["queue_depth"] == 0 and health["running"] == 0
    assert health["engine"]["context_length"] == 8192  # the tiny model's max_position_embeddings
    assert health["engine"]["kv_cache_tokens"] == 256 * 256  # CPU default: 256 blocks of 256 tokens
    assert health["engine"]["max_queued"] == 64  # derived: 65,536 cache tokens / 1,024
    models = client(lora_app).models.list()
    assert [m.id for m in models.data] == ["tiny-llama-lora"]


def test_adapter_changes_outputs(lora_app: RunningApp, base_app: RunningApp) -> None:
    with_adapter = [greedy(lora_app, p) for p in PROMPTS]
    without = [greedy(base_app, p) for p in PROMPTS]
    assert all(with_adapter) and all(without)
    assert with_adapter != without
    # Greedy decoding is deterministic: the same app gives the same answer again.
    assert greedy(lora_app, PROMPTS[0]) == with_adapter[0]


def test_non_streaming_completion_shape(lora_app: RunningApp) -> None:
    r = client(lora_app).chat.completions.create(
        model="tiny",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}],
        max_tokens=7,
        temperature=0,
    )
    assert r.object == "chat.completion" and r.id.startswith("chatcmpl-")
    assert r.choices[0].message.role == "assistant" and r.choices[0].finish_reason == "length"
    assert r.usage is not None and r.usage.completion_tokens == 7
    assert r.usage.total_tokens == r.usage.prompt_tokens + 7 and r.usage.prompt_tokens > 2


def test_streaming_completion_shape(lora_app: RunningApp) -> None:
    stream = client(lora_app).chat.completions.create(
        model="tiny",
        messages=[{"role": "user", "content": "hello world"}],
        max_tokens=10,
        temperature=0,
        stream=True,
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text.strip() and text.strip() == greedy(lora_app, "hello world", 10).strip()
    assert chunks[-1].choices[0].finish_reason == "length"
    assert all(c.object == "chat.completion.chunk" and c.usage is None for c in chunks)
    # On the wire the stream ends with the SSE terminator the openai client consumes silently.
    with httpx.stream(
        "POST",
        lora_app.url + "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, "stream": True},
        headers=lora_app.headers,
    ) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in resp.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"


def test_stream_include_usage(lora_app: RunningApp) -> None:
    chunks = list(
        client(lora_app).chat.completions.create(
            model="tiny",
            messages=[{"role": "user", "content": "hello world"}],
            max_tokens=5,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (5, 5, 10)
    assert all(c.usage is None for c in chunks[:-1])


async def test_concurrent_streams_all_progress(lora_app: RunningApp) -> None:
    """A short request started while a long one streams finishes first: generations run side by side."""
    api = aclient(lora_app)
    order: list[str] = []

    async def run(name: str, max_tokens: int, started: asyncio.Event | None = None) -> int:
        stream = await api.chat.completions.create(
            model="tiny",
            messages=[{"role": "user", "content": "hello"}],
            max_tokens=max_tokens,
            stream=True,
            temperature=0,
        )
        n = 0
        async for _ in stream:
            n += 1
            if started is not None and n == 2:
                started.set()
        order.append(name)
        return n

    long_started = asyncio.Event()
    long_task = asyncio.create_task(run("long", 3000, long_started))
    await asyncio.wait_for(long_started.wait(), 120)
    shorts = await asyncio.gather(*(run(f"short{i}", 5) for i in range(3)))
    await long_task
    assert all(n >= 3 for n in shorts)
    assert order[-1] == "long", order


async def test_concurrent_requests_share_forward_passes(lora_app: RunningApp) -> None:
    """Eight requests of 40 tokens take about 40 forward passes, not 320: they are decoded in one batch."""
    before = engine_stats(lora_app)
    api = aclient(lora_app)
    answers = await asyncio.gather(
        *(
            api.chat.completions.create(
                model="tiny", messages=[{"role": "user", "content": p}], max_tokens=40, temperature=0
            )
            for p in PROMPTS * 2
        )
    )
    after = engine_stats(lora_app)
    assert all(a.usage is not None and a.usage.completion_tokens == 40 for a in answers)
    steps = after["steps"] - before["steps"]
    assert 40 <= steps < 80, steps  # one request after the other would take 320
    assert after["largest_batch"] >= 8, after


def test_disconnect_cancels_its_request(lora_app: RunningApp) -> None:
    before = engine_stats(lora_app)["cancelled"]
    with httpx.stream(
        "POST",
        lora_app.url + "/v1/chat/completions",
        json={
            "messages": [{"role": "user", "content": "hello"}],
            "max_tokens": 4000,
            "stream": True,
            "temperature": 0,
        },
        headers=lora_app.headers,
    ) as resp:
        for i, _ in enumerate(resp.iter_lines()):
            if i > 6:
                break  # leaving the block closes the connection mid-stream
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        stats = engine_stats(lora_app)
        if stats["cancelled"] > before and stats["running"] == 0:
            break
        time.sleep(0.1)
    assert stats["cancelled"] == before + 1 and stats["running"] == 0 and stats["queue_depth"] == 0, stats
    # The engine stopped stepping: nothing is left generating those 4,000 tokens.
    steps = stats["steps"]
    time.sleep(0.5)
    assert engine_stats(lora_app)["steps"] == steps


def test_disconnect_cancels_a_non_streamed_request(lora_app: RunningApp) -> None:
    before = engine_stats(lora_app)["cancelled"]
    body = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 4000, "temperature": 0}
    with pytest.raises(httpx.ReadTimeout):  # the client gives up and closes its connection
        httpx.post(lora_app.url + "/v1/chat/completions", json=body, headers=lora_app.headers, timeout=1.0)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        stats = engine_stats(lora_app)
        if stats["cancelled"] > before and stats["running"] == 0:
            break
        time.sleep(0.1)
    assert stats["cancelled"] == before + 1 and stats["running"] == 0, stats


def test_seed_makes_a_sampled_answer_repeatable(lora_app: RunningApp) -> None:
    def sample(seed: int) -> str:
        r = client(lora_app).chat.completions.create(
            model="tiny",
            messages=[{"role": "user", "content": "tell me a story"}],
            max_tokens=24,
            temperature=1.0,
            seed=seed,
        )
        return r.choices[0].message.content or ""

    first = sample(42)
    assert sample(42) == first
    assert sample(43) != first
    assert len({sample(s) for s in range(100, 104)}) > 1  # sampling, not greedy, is what the seed fixes


def test_top_p_keeps_only_the_nucleus(lora_app: RunningApp) -> None:
    """With a tiny top_p only the most likely token is left: sampling at temperature 1 gives the greedy answer."""
    expected = greedy(lora_app, "what is azure", 16)
    for seed in range(3):
        r = client(lora_app).chat.completions.create(
            model="tiny",
            messages=[{"role": "user", "content": "what is azure"}],
            max_tokens=16,
            temperature=1.0,
            top_p=0.01,
            seed=seed,
        )
        assert r.choices[0].message.content == expected


async def test_seed_holds_while_other_requests_share_the_batch(lora_app: RunningApp) -> None:
    """The seed is the request's own (not the process's RNG): traffic around it changes nothing."""
    api = aclient(lora_app)

    async def seeded() -> str:
        r = await api.chat.completions.create(
            model="tiny",
            messages=[{"role": "user", "content": "tell me a story"}],
            max_tokens=24,
            temperature=1.0,
            seed=7,
        )
        return r.choices[0].message.content or ""

    alone = await seeded()
    others = [
        api.chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": p}], max_tokens=30, temperature=1.0
        )
        for p in PROMPTS
    ]
    results = await asyncio.gather(*others[:2], seeded(), *others[2:])
    assert results[2] == alone


def test_stop_sequence_ends_the_answer(lora_app: RunningApp) -> None:
    full = greedy(lora_app, "what is azure", 16)
    words = full.split()
    stop = words[3]
    r = client(lora_app).chat.completions.create(
        model="tiny",
        messages=[{"role": "user", "content": "what is azure"}],
        max_tokens=16,
        temperature=0,
        stop=[stop, "never appears"],
    )
    assert r.choices[0].message.content == full[: full.index(stop)]
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None and r.usage.completion_tokens < 16


def test_prompt_plus_max_tokens_beyond_context_is_400(lora_app: RunningApp) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client(lora_app).chat.completions.create(
            model="tiny",
            messages=[{"role": "user", "content": " ".join(["hello"] * 4200)}],
            max_tokens=4096,
        )
    assert info.value.status_code == 400
    body: Any = info.value.body
    assert body["message"] == (
        "This model's maximum context length is 8192 tokens. However, you requested 8299 tokens "
        "(4203 in the messages, 4096 in the completion). Please reduce the length of the messages or completion."
    )
    assert body["code"] == "context_length_exceeded" and body["param"] == "messages"


def test_request_body_cap_is_413(lora_app: RunningApp) -> None:
    content = "hello " * (1 << 18)  # 1.5 MiB, over the 1 MiB default
    resp = httpx.post(
        lora_app.url + "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": content}]},
        headers=lora_app.headers,
    )
    assert resp.status_code == 413
    assert resp.json()["error"] == {
        "message": "The request body is larger than this endpoint's limit of 1048576 bytes.",
        "type": "invalid_request_error",
        "param": None,
        "code": "request_too_large",
    }


def test_queue_full_is_429_with_retry_after(one_slot_app: RunningApp) -> None:
    """One request runs, one waits (the queue bound is 1), the next is refused until the queue moves."""
    app = one_slot_app
    body = {"messages": [{"role": "user", "content": "hello"}], "stream": True, "temperature": 0}
    with httpx.Client(timeout=60, headers=app.headers) as http:
        with http.stream("POST", app.url + "/v1/chat/completions", json=dict(body, max_tokens=4000)) as long:
            lines = long.iter_lines()
            while "content" not in next(lines) or engine_stats(app)["running"] != 1:
                pass  # the long request is producing tokens
            with http.stream(
                "POST", app.url + "/v1/chat/completions", json=dict(body, max_tokens=3)
            ) as waiting:
                assert waiting.status_code == 200
                deadline = time.monotonic() + 30
                while engine_stats(app)["queue_depth"] != 1 and time.monotonic() < deadline:
                    time.sleep(0.05)
                stats = engine_stats(app)
                assert (stats["queue_depth"], stats["running"]) == (1, 1), stats

                with pytest.raises(openai.RateLimitError) as info:
                    client(app).chat.completions.create(
                        model="tiny", messages=[{"role": "user", "content": "hi"}], max_tokens=3
                    )
                assert info.value.status_code == 429
                assert info.value.response.headers["Retry-After"].isdigit()
                assert int(info.value.response.headers["Retry-After"]) >= 1
                body_429: Any = info.value.body
                assert body_429["message"] == (
                    "The endpoint is at capacity (1 requests are waiting). "
                    f"Retry after {info.value.response.headers['Retry-After']} s."
                )
                assert (body_429["type"], body_429["code"]) == ("requests", "rate_limit_exceeded")

                long.close()  # the long request leaves: the waiting one runs to its end
                text = "".join(waiting.iter_lines())
                assert text.endswith("data: [DONE]") and '"finish_reason": "length"' in text
    # The queue has room again.
    assert (
        client(app)
        .chat.completions.create(model="tiny", messages=[{"role": "user", "content": "hi"}], max_tokens=3)
        .choices[0]
        .message.content
    )


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"{not json", None),
        (b'{"model": "x"}', "messages"),
        (b'{"messages": []}', "messages"),
        (b'{"messages": [{"role": "wizard", "content": "x"}]}', "messages.0.role"),
        (b'{"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}', "max_tokens"),
        (b'{"messages": [{"role": "user", "content": "x"}], "max_tokens": 100000}', "max_tokens"),
        (b'{"messages": [{"role": "user", "content": "x"}], "temperature": 5}', "temperature"),
    ],
)
def test_bad_requests_get_openai_400(lora_app: RunningApp, body: bytes, param: str | None) -> None:
    resp = httpx.post(
        lora_app.url + "/v1/chat/completions",
        content=body,
        headers={"Content-Type": "application/json", **lora_app.headers},
    )
    assert resp.status_code == 400, resp.text
    err = resp.json()["error"]
    assert err["type"] == "invalid_request_error" and err["message"]
    assert err["param"] == param


def test_bad_request_through_openai_client_raises_bad_request(lora_app: RunningApp) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client(lora_app).chat.completions.create(
            model="x", messages=[{"role": "user", "content": "x"}], max_tokens=0
        )
    assert "max_tokens" in str(info.value)
