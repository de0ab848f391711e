"""Loads the base model (+ LoRA adapter) and generates, streaming tokens from a worker thread.

Generation runs in threads so the event loop keeps serving; each request has its own stop event so
a client that disconnects stops its generation at the next token.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from settings import Settings
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    StoppingCriteria,
    StoppingCriteriaList,
    TextIteratorStreamer,
)


class _StopOnEvent(StoppingCriteria):
    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> bool:
        return self.event.is_set()


@dataclass
class Generation:
    """An in-flight generation: iterate ``pieces`` for text; ``stop()`` ends it early."""

    pieces: Iterator[str]
    prompt_tokens: int
    stop_event: threading.Event
    thread: threading.Thread
    result: dict[str, Any]

    def stop(self) -> None:
        self.stop_event.set()

    @property
    def completion_tokens(self) -> int:
        return int(self.result.get("completion_tokens", 0))

    @property
    def finish_reason(self) -> str:
        return str(self.result.get("finish_reason", "stop"))


class Engine:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        cuda = torch.cuda.is_available()
        kwargs: dict[str, Any] = {"dtype": torch.bfloat16 if cuda else torch.float32}
        if settings.load_in_4bit and cuda and importlib.util.find_spec("bitsandbytes"):
            from transformers import BitsAndBytesConfig

            kwargs["quantization_config"] = BitsAndBytesConfig(
                load_in_4bit=True, bnb_4bit_compute_dtype=torch.bfloat16
            )
        if cuda:
            kwargs["device_map"] = "auto"
        self.tokenizer = AutoTokenizer.from_pretrained(settings.base_model)
        model = AutoModelForCausalLM.from_pretrained(settings.base_model, **kwargs)
        if settings.adapter is not None:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(settings.adapter))
        model.eval()
        self.model = model
        self.device = next(model.parameters()).device
        self._lock = threading.Lock()
        self.active = 0  # generations running now
        self.cancelled = 0  # generations stopped early (client gone)

    def counters(self) -> dict[str, int]:
        with self._lock:
            return {"active": self.active, "cancelled": self.cancelled}

    def encode(self, messages: list[dict[str, str]]) -> torch.Tensor:
        ids = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        return ids["input_ids"].to(self.device)

    def generate(
        self,
        messages: list[dict[str, str]],
        *,
        max_new_tokens: int,
        temperature: float,
        top_p: float,
        seed: int | None = None,
    ) -> Generation:
        input_ids = self.encode(messages)
        streamer = TextIteratorStreamer(
            self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=600
        )
        stop_event = threading.Event()
        result: dict[str, Any] = {}
        sample = temperature > 0
        gen_kwargs: dict[str, Any] = {
            "input_ids": input_ids,
            "attention_mask": torch.ones_like(input_ids),
            "max_new_tokens": max_new_tokens,
            "do_sample": sample,
            "streamer": streamer,
            "stopping_criteria": StoppingCriteriaList([_StopOnEvent(stop_event)]),
            "pad_token_id": self.tokenizer.pad_token_id
            if self.tokenizer.pad_token_id is not None
            else self.tokenizer.eos_token_id,
        }
        if sample:
            gen_kwargs.update(temperature=temperature, top_p=top_p)

        def run() -> None:
            with self._lock:
                self.active += 1
            try:
                if seed is not None:
                    torch.manual_seed(seed)
                with torch.inference_mode():
                    out = self.model.generate(**gen_kwargs)
                new = out.shape[-1] - input_ids.shape[-1]
                result["completion_tokens"] = int(new)
                eos = self.tokenizer.eos_token_id
                ended_on_eos = new > 0 and eos is not None and int(out[0, -1]) == eos
                result["finish_reason"] = "length" if new >= max_new_tokens and not ended_on_eos else "stop"
            except Exception as exc:  # surfaced to the request through the streamer's end
                result["error"] = exc
                streamer.end()
            finally:
                with self._lock:
                    self.active -= 1
                    if stop_event.is_set():
                        self.cancelled += 1

        thread = threading.Thread(target=run, name="generate", daemon=True)
        thread.start()
        return Generation(iter(streamer), int(input_ids.shape[-1]), stop_event, thread, result)
