"""The inference app over real HTTP: OpenAI shapes (checked by the openai client), adapter effect,
concurrency, disconnects, and OpenAI-style 4xx errors."""

from __future__ import annotations

import asyncio
import time

import httpx
import openai
import pytest

from tests.inference.conftest import RunningApp

PROMPTS = ["hello world", "what is azure", "tell me one two three", "how big is the tree"]


def client(app: RunningApp) -> openai.OpenAI:
    return openai.OpenAI(base_url=app.url + "/v1", api_key="unused", max_retries=0)


def greedy(app: RunningApp, prompt: str, max_tokens: int = 12) -> str:
    r = client(app).chat.completions.create(
        model="any", messages=[{"role": "user", "content": prompt}], max_tokens=max_tokens, temperature=0
    )
    return r.choices[0].message.content or ""


def test_health_and_models(lora_app: RunningApp) -> None:
    health = httpx.get(lora_app.url + "/health").json()
    assert health["status"] == "ok" and health["model"] == "tiny-llama-lora"
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
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    # On the wire the stream ends with the SSE terminator the openai client consumes silently.
    with httpx.stream(
        "POST",
        lora_app.url + "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, "stream": True},
    ) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in resp.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"


async def test_concurrent_streams_all_progress(lora_app: RunningApp) -> None:
    """A short request started while a long one streams finishes first: generations run side by side."""
    aclient = openai.AsyncOpenAI(base_url=lora_app.url + "/v1", api_key="unused", max_retries=0)
    order: list[str] = []

    async def run(name: str, max_tokens: int, started: asyncio.Event | None = None) -> int:
        stream = await aclient.chat.completions.create(
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


def test_disconnect_stops_generation(lora_app: RunningApp) -> None:
    before = httpx.get(lora_app.url + "/health").json()["generations"]["cancelled"]
    with httpx.stream(
        "POST",
        lora_app.url + "/v1/chat/completions",
        json={
            "messages": [{"role": "user", "content": "hello"}],
            "max_tokens": 4000,
            "stream": True,
            "temperature": 0,
        },
    ) as resp:
        for i, _ in enumerate(resp.iter_lines()):
            if i > 6:
                break  # leaving the block closes the connection mid-stream
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        gens = httpx.get(lora_app.url + "/health").json()["generations"]
        if gens["cancelled"] > before and gens["active"] == 0:
            break
        time.sleep(0.2)
    assert gens["cancelled"] == before + 1 and gens["active"] == 0, gens


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
        lora_app.url + "/v1/chat/completions", content=body, headers={"Content-Type": "application/json"}
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


def test_chat_ui_served_at_root(lora_app: RunningApp) -> None:
    resp = httpx.get(lora_app.url + "/")
    assert resp.status_code == 200 and "gradio" in resp.text.lower()
