"""OpenAI-compatible API: POST /v1/chat/completions (streaming SSE and JSON), GET /v1/models, GET /health."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

from engine import Engine, Generation
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException


class Message(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class ChatRequest(BaseModel):
    model: str | None = None
    messages: list[Message] = Field(min_length=1)
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    temperature: float = Field(default=0.7, ge=0, le=2)
    top_p: float = Field(default=1.0, gt=0, le=1)
    stream: bool = False
    seed: int | None = None


def openai_error(
    status: int, message: str, *, param: str | None = None, code: str | None = None
) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": param, "code": code}}, status_code=status
    )


async def _next(gen: Generation) -> str | None:
    # The streamer blocks on a queue: wait for it off the event loop.
    return await asyncio.to_thread(next, gen.pieces, None)


def build_api(engine: Engine, app: FastAPI | None = None) -> FastAPI:
    app = app or FastAPI(title="Fine-tuned model inference", docs_url="/docs")
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
    async def health() -> dict[str, Any]:
        return {"status": "ok", "model": model_name, "generations": engine.counters()}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": model_name, "object": "model", "created": 0, "owned_by": "user"}],
        }

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(body: ChatRequest, request: Request) -> JSONResponse | StreamingResponse:
        requested = body.max_completion_tokens if body.max_completion_tokens is not None else body.max_tokens
        max_tokens = min(512, limit) if requested is None else requested
        if not 1 <= max_tokens <= limit:
            return openai_error(
                400, f"max_tokens must be between 1 and {limit}, got {max_tokens}.", param="max_tokens"
            )
        messages = [m.model_dump() for m in body.messages]
        gen = engine.generate(
            messages,
            max_new_tokens=max_tokens,
            temperature=body.temperature,
            top_p=body.top_p,
            seed=body.seed,
        )
        cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if body.stream:
            return StreamingResponse(
                _stream(gen, request, cid, created, model_name), media_type="text/event-stream"
            )
        parts: list[str] = []
        while (piece := await _next(gen)) is not None:
            parts.append(piece)
            if await request.is_disconnected():
                gen.stop()  # nobody is waiting for the answer any more
                break
        await asyncio.to_thread(gen.thread.join)
        if "error" in gen.result:
            return openai_error(500, f"Generation failed: {gen.result['error']}")
        usage = {"prompt_tokens": gen.prompt_tokens, "completion_tokens": gen.completion_tokens}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        return JSONResponse(
            {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": model_name,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "".join(parts)},
                        "finish_reason": gen.finish_reason,
                    }
                ],
                "usage": usage,
            }
        )

    return app


async def _stream(
    gen: Generation, request: Request, cid: str, created: int, model: str
) -> AsyncIterator[str]:
    def chunk(delta: dict[str, str], finish: str | None = None) -> str:
        body = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(body)}\n\n"

    done = False
    try:
        yield chunk({"role": "assistant", "content": ""})
        while (piece := await _next(gen)) is not None:
            if piece:
                yield chunk({"content": piece})
        done = True
        await asyncio.to_thread(gen.thread.join)
        yield chunk({}, gen.finish_reason)
        yield "data: [DONE]\n\n"
    finally:
        # Also runs when the client disconnects (the generator is closed): stop generating.
        if not done:
            gen.stop()
