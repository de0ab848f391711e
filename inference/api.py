"""OpenAI-compatible API: POST /v1/chat/completions (streaming SSE and JSON), GET /v1/models, GET /health."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from auth import ApiKey, RequireApiKey
from engine import Engine, Generation, GenerationFailed, Overloaded, Sampling
from errors import openai_error
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from limits import BodyLimit
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

DEFAULT_MAX_TOKENS = 512


class Message(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatRequest(BaseModel):
    model: str | None = None
    messages: list[Message] = Field(min_length=1)
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    temperature: float = Field(default=0.7, ge=0, le=2)
    top_p: float = Field(default=1.0, gt=0, le=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    seed: int | None = None
    stop: str | list[str] | None = Field(default=None)

    def stops(self) -> tuple[str, ...]:
        if self.stop is None:
            return ()
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)


def context_error(context: int, prompt: int, completion: int) -> JSONResponse:
    return openai_error(
        400,
        f"This model's maximum context length is {context} tokens. However, you requested "
        f"{prompt + completion} tokens ({prompt} in the messages, {completion} in the completion). "
        "Please reduce the length of the messages or completion.",
        param="messages",
        code="context_length_exceeded",
    )


def usage(gen: Generation) -> dict[str, int]:
    return {
        "prompt_tokens": gen.prompt_tokens,
        "completion_tokens": gen.completion_tokens,
        "total_tokens": gen.prompt_tokens + gen.completion_tokens,
    }


async def _client_gone(request: Request) -> None:
    # The body is read: the server's next message for this request is its disconnect.
    while (await request.receive())["type"] != "http.disconnect":
        pass


def build_api(engine: Engine, key: ApiKey, app: FastAPI | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncGenerator[None]:
        yield
        await asyncio.to_thread(engine.close)  # the library's generation thread is not a daemon

    # No /docs, /redoc or /openapi.json: the endpoint is public and its key is the only gate.
    app = app or FastAPI(
        title="Fine-tuned model inference", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.add_middleware(BodyLimit, max_bytes=engine.settings.max_request_bytes)
    app.add_middleware(RequireApiKey, key=key)  # added last: runs first, before any body is read
    model_name = engine.settings.model_name
    limit = engine.settings.max_new_tokens_limit

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        loc = [str(p) for p in first.get("loc", []) if p != "body"]
        msg = first.get("msg", "Invalid request")
        if first.get("type") == "json_invalid":
            return openai_error(400, "We could not parse the JSON body of your request.", code="invalid_json")
        return openai_error(400, f"{'.'.join(loc) or 'body'}: {msg}", param=".".join(loc) or None)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return openai_error(exc.status_code, str(exc.detail))

    @app.get("/health")
    async def health() -> JSONResponse:
        stats = engine.stats()
        alive = engine.alive()
        return JSONResponse(
            {
                "status": "ok" if alive else "engine stopped",
                "model": model_name,
                "queue_depth": stats["queued"],
                "running": stats["running"],
                "engine": stats,
            },
            status_code=200 if alive else 503,
        )

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": model_name, "object": "model", "created": 0, "owned_by": "user"}],
        }

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(body: ChatRequest, request: Request) -> JSONResponse | StreamingResponse:
        requested = body.max_completion_tokens if body.max_completion_tokens is not None else body.max_tokens
        if requested is not None and not 1 <= requested <= limit:
            return openai_error(
                400, f"max_tokens must be between 1 and {limit}, got {requested}.", param="max_tokens"
            )
        stops = body.stops()
        if len(stops) > 4 or not all(stops):
            return openai_error(400, "stop: up to 4 non-empty sequences.", param="stop")
        prompt_ids = await asyncio.to_thread(engine.encode, [m.model_dump() for m in body.messages])
        context = engine.context_length
        max_tokens = requested or max(1, min(DEFAULT_MAX_TOKENS, limit, context - len(prompt_ids)))
        if len(prompt_ids) + max_tokens > context:
            return context_error(context, len(prompt_ids), max_tokens)
        sampling = Sampling(max_tokens, body.temperature, body.top_p, body.seed, stops)
        try:
            gen = engine.submit(prompt_ids, sampling)
        except Overloaded as err:
            return openai_error(
                429,
                f"The endpoint is at capacity ({err.queued} requests are waiting). "
                f"Retry after {err.retry_after} s.",
                kind="requests",
                code="rate_limit_exceeded",
                headers={"Retry-After": str(err.retry_after)},
            )
        except GenerationFailed as err:
            return openai_error(503, str(err))
        cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if body.stream:
            include_usage = body.stream_options is not None and body.stream_options.include_usage
            return StreamingResponse(
                _stream(gen, cid, created, model_name, include_usage), media_type="text/event-stream"
            )

        async def collect() -> str:
            return "".join([piece async for piece in gen.text()])

        answer = asyncio.create_task(collect())
        gone = asyncio.create_task(_client_gone(request))
        try:
            await asyncio.wait({answer, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            if not answer.done():  # nobody is waiting for the answer any more
                answer.cancel()
            gen.close()
        if answer.cancelled():
            return openai_error(499, "The client closed the request.")
        try:
            text = answer.result()
        except GenerationFailed as err:
            return openai_error(500, f"Generation failed: {err}")
        return JSONResponse(
            {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": model_name,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": gen.finish_reason,
                    }
                ],
                "usage": usage(gen),
            }
        )

    return app


async def _stream(
    gen: Generation, cid: str, created: int, model: str, include_usage: bool
) -> AsyncIterator[str]:
    def event(choices: list[dict[str, Any]], **extra: Any) -> str:
        body: dict[str, Any] = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": choices,
        }
        if include_usage:
            body["usage"] = None  # OpenAI's shape: null on every chunk but the last
        body.update(extra)
        return f"data: {json.dumps(body)}\n\n"

    def chunk(delta: dict[str, str], finish: str | None = None) -> str:
        return event([{"index": 0, "delta": delta, "finish_reason": finish}])

    try:
        yield chunk({"role": "assistant", "content": ""})
        try:
            async for piece in gen.text():
                yield chunk({"content": piece})
        except GenerationFailed as err:
            error = {
                "message": f"Generation failed: {err}",
                "type": "server_error",
                "param": None,
                "code": None,
            }
            yield f"data: {json.dumps({'error': error})}\n\n"
            return
        yield chunk({}, gen.finish_reason)
        if include_usage:
            yield event([], usage=usage(gen))
        yield "data: [DONE]\n\n"
    finally:
        # Also runs when the client disconnects (the response task is cancelled): cancel in the engine.
        gen.close()
