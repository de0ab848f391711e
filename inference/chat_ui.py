"""The Gradio chat UI at / (streaming, with sliders for max new tokens, temperature, top-p)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr
from engine import Engine


def build_ui(engine: Engine) -> gr.Blocks:
    limit = engine.settings.max_new_tokens_limit

    def respond(
        message: str, history: list[dict[str, Any]], max_new_tokens: int, temperature: float, top_p: float
    ) -> Iterator[str]:
        messages = [
            {"role": m["role"], "content": str(m["content"])}
            for m in history
            if m.get("role") in ("user", "assistant")
        ]
        messages.append({"role": "user", "content": message})
        gen = engine.generate(
            messages, max_new_tokens=int(max_new_tokens), temperature=temperature, top_p=top_p
        )
        text = ""
        try:
            for piece in gen.pieces:
                text += piece
                yield text
        finally:
            gen.stop()

    return gr.ChatInterface(
        respond,
        title=f"Chat with {engine.settings.model_name}",
        additional_inputs=[
            gr.Slider(1, limit, value=min(256, limit), step=1, label="Max new tokens"),
            gr.Slider(0.0, 2.0, value=0.7, step=0.05, label="Temperature"),
            gr.Slider(0.05, 1.0, value=0.95, step=0.05, label="Top-p"),
        ],
    )
