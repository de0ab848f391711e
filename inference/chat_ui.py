"""The Gradio chat UI at / (streaming, with sliders for max new tokens, temperature, top-p).

It sits behind Gradio's login, where the endpoint's API key is the password (``auth.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr
from engine import Engine, Overloaded, Sampling


def build_ui(engine: Engine) -> gr.Blocks:
    limit = engine.settings.max_new_tokens_limit

    async def respond(
        message: str, history: list[dict[str, Any]], max_new_tokens: int, temperature: float, top_p: float
    ) -> AsyncIterator[str]:
        messages = [
            {"role": m["role"], "content": str(m["content"])}
            for m in history
            if m.get("role") in ("user", "assistant")
        ]
        messages.append({"role": "user", "content": message})
        prompt_ids = await asyncio.to_thread(engine.encode, messages)
        room = engine.context_length - len(prompt_ids)
        if room < 1:
            raise gr.Error(
                f"The conversation is {len(prompt_ids)} tokens: the model's context is "
                f"{engine.context_length}. Clear the chat to start again."
            )
        try:
            gen = engine.submit(
                prompt_ids, Sampling(min(int(max_new_tokens), room), float(temperature), float(top_p))
            )
        except Overloaded as err:
            raise gr.Error(f"The endpoint is busy: retry in {err.retry_after} s.") from err
        text = ""
        try:
            async for piece in gen.text():
                text += piece
                yield text
        finally:
            gen.close()  # also when the user stops the answer or leaves

    return gr.ChatInterface(
        respond,
        title=f"Chat with {engine.settings.model_name}",
        concurrency_limit=None,  # Gradio's default is one chat at a time; the engine does the admission
        additional_inputs=[
            gr.Slider(1, limit, value=min(256, limit), step=1, label="Max new tokens"),
            gr.Slider(0.0, 2.0, value=0.7, step=0.05, label="Temperature"),
            gr.Slider(0.05, 1.0, value=0.95, step=0.05, label="Top-p"),
        ],
    )
