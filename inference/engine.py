"""The serving engine: base model (+ merged LoRA adapter) behind transformers' continuous batching.

One background thread (the library's) runs every request in a shared batch over a paged KV cache of a
configured size. Each request registers a result handler that the library calls on the event loop for
every new token, so streaming costs no thread per request. Admission control keeps at most
``max_queued`` requests waiting for their first token; beyond that ``submit`` raises ``Overloaded``.
"""

from __future__ import annotations

import asyncio
import copy
import importlib.util
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import torch
from sampling import SeededDraw, Temperature, TopP
from settings import Settings
from textstream import IncrementalDecoder, StopMatcher
from transformers import AutoModelForCausalLM, AutoTokenizer, LogitsProcessorList
from transformers.generation.configuration_utils import ContinuousBatchingConfig
from transformers.generation.continuous_batching.cb_logits_processors import (
    ContinuousBatchingLogitsProcessorList,
)
from transformers.generation.continuous_batching.requests import GenerationOutput, RequestStatus

log = logging.getLogger("inference")

CPU_KV_CACHE_BLOCKS = 256  # on CPU a fraction of "free memory" would be a fraction of the machine's RAM
CPU_MAX_BATCH_TOKENS = 512  # bounds the attention mask the CPU path materialises per step
NOMINAL_REQUEST_TOKENS = 1024  # the request size the default queue bound is counted in
HANDLER_GRACE_S = 30.0  # a cancelled request may still deliver a token or two


class Overloaded(Exception):
    def __init__(self, queued: int, retry_after: int) -> None:
        super().__init__(f"{queued} requests are already waiting")
        self.queued = queued
        self.retry_after = retry_after


class GenerationFailed(Exception):
    pass


@dataclass(frozen=True)
class Sampling:
    max_new_tokens: int
    temperature: float = 0.0  # 0: greedy
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()


class Generation:
    """One request in the engine. Iterate ``text()`` for its text as produced; ``cancel()`` ends it."""

    def __init__(self, engine: Engine, request_id: str, prompt_tokens: int, sampling: Sampling) -> None:
        self.engine = engine
        self.request_id = request_id
        self.prompt_tokens = prompt_tokens
        self.sampling = sampling
        self.completion_tokens = 0
        self.finish_reason: str | None = None  # "stop" | "length" once complete
        self.started_at = time.monotonic()
        self._outputs: asyncio.Queue[GenerationOutput] = asyncio.Queue()
        self.failed = False
        self._running = False
        self._closed = False

    def deliver(self, output: GenerationOutput) -> None:  # called on the event loop by the library
        self._outputs.put_nowait(output)

    async def text(self) -> AsyncIterator[str]:
        decoder = IncrementalDecoder(self.engine.tokenizer)
        stops = StopMatcher(self.sampling.stop)
        try:
            while True:
                out = await self._outputs.get()
                while not self._outputs.empty():  # a slow reader catches up in one step
                    out = self._outputs.get_nowait()
                if not self._running:
                    self._running = True
                    self.engine._started(self)
                if out.status == RequestStatus.FAILED or out.error:
                    self.failed = True
                    raise GenerationFailed(out.error or "the engine failed this request")
                ids = out.generated_tokens
                self.completion_tokens = len(ids)
                piece = stops.feed(decoder.step(ids))
                if piece:
                    yield piece
                if stops.stopped:
                    self.finish_reason = "stop"
                    self.engine._cancel(self, client_gone=False)
                    return
                if out.is_finished():
                    rest = stops.flush()
                    if rest:
                        yield rest
                    self.finish_reason = "stop" if ids and ids[-1] in self.engine.eos_ids else "length"
                    return
        finally:
            self.close()

    def close(self) -> None:
        """Ends the request; one that has not finished is cancelled in the engine (the client is gone)."""
        if self._closed:
            return
        self._closed = True
        if self.finish_reason is None and not self.failed:
            self.engine._cancel(self, client_gone=True)
        self.engine._finished(self)


class Engine:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        cuda = torch.cuda.is_available()
        kwargs: dict[str, Any] = {"dtype": torch.bfloat16 if cuda else torch.float32}
        if settings.load_in_4bit and cuda and importlib.util.find_spec("bitsandbytes"):
            from transformers import BitsAndBytesConfig

            kwargs["quantization_config"] = BitsAndBytesConfig(  # type: ignore[no-untyped-call]
                load_in_4bit=True, bnb_4bit_compute_dtype=torch.bfloat16
            )
        if cuda:
            kwargs["device_map"] = "auto"
        self.tokenizer = AutoTokenizer.from_pretrained(settings.base_model)
        model = AutoModelForCausalLM.from_pretrained(settings.base_model, **kwargs)
        if settings.adapter is not None:
            from peft import PeftModel

            # One adapter is served: fold it into the base weights once, so a token costs what the base costs.
            model = PeftModel.from_pretrained(model, str(settings.adapter)).merge_and_unload()
        model.eval()  # type: ignore[no-untyped-call]
        self.model = model
        self.device = model.device

        gen_config = copy.deepcopy(model.generation_config)
        # Sampling is per request (sampling.py); the library only takes the argmax of our one-hot rows.
        gen_config.do_sample = False
        gen_config.temperature = gen_config.top_p = gen_config.top_k = None
        eos = gen_config.eos_token_id if gen_config.eos_token_id is not None else self.tokenizer.eos_token_id
        self.eos_ids: set[int] = set(eos if isinstance(eos, list) else [] if eos is None else [eos])
        gen_config.eos_token_id = sorted(self.eos_ids) or -1

        blocks = settings.kv_cache_blocks
        if blocks is None and not cuda:
            blocks = CPU_KV_CACHE_BLOCKS
        max_batch_tokens = settings.max_batch_tokens or (None if cuda else CPU_MAX_BATCH_TOKENS)
        cb_config = ContinuousBatchingConfig(
            page_size=settings.kv_page_size,
            num_blocks=blocks,
            max_memory_percent=settings.kv_cache_memory_fraction,
            max_batch_tokens=max_batch_tokens,
            max_requests_per_batch=settings.max_batch_requests,
        )
        self.manager = model.init_continuous_batching(
            generation_config=gen_config, continuous_batching_config=cb_config
        )
        self.draw = SeededDraw()
        processors = ContinuousBatchingLogitsProcessorList(
            LogitsProcessorList(
                [*self.manager.logit_processor.logits_processor, Temperature(), TopP(), self.draw]
            )
        )
        processors.tensors_required = 3  # one argument row per per-request processor above
        self.manager.logit_processor = processors  # read when the batch processor is built, at start()
        self.manager.start()
        self._wait_for_cache()

        processor = self.manager.batch_processor
        assert processor is not None  # _wait_for_cache returned
        cache = processor.cache
        self.kv_cache_tokens = int(cache.num_blocks) * settings.kv_page_size
        own_context = int(getattr(model.config, "max_position_embeddings", 0) or self.kv_cache_tokens)
        # A request must fit the model and, on its own, the whole cache.
        self.context_length = min(
            own_context, self.kv_cache_tokens, settings.max_model_len or self.kv_cache_tokens
        )
        self.max_queued = settings.max_queued_requests
        if self.max_queued is None:
            # As many requests as the cache holds at once, counted at a nominal size: waiting longer than
            # one turnover of the cache is better answered with 429 and a retry.
            self.max_queued = max(8, self.kv_cache_tokens // min(self.context_length, NOMINAL_REQUEST_TOKENS))

        self.queued = 0  # admitted, waiting for the first token
        self.running = 0  # producing tokens
        self.completed = 0
        self.cancelled = 0  # ended early because the client went away
        self._mean_seconds = 1.0
        log.info(
            "engine on %s: KV cache %d tokens (%d blocks of %d), context %d, queue bound %d",
            self.device,
            self.kv_cache_tokens,
            cache.num_blocks,
            settings.kv_page_size,
            self.context_length,
            self.max_queued,
        )

    def _wait_for_cache(self, timeout: float = 600.0) -> None:
        deadline = time.monotonic() + timeout
        status = self.manager.background_thread_status
        while self.manager.batch_processor is None:
            if status.fatal_error is not None or not self.manager.is_running():
                raise RuntimeError(f"The generation loop failed to start: {status.fatal_error}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"The generation loop did not start within {timeout:.0f} s.")
            time.sleep(0.01)

    def encode(self, messages: list[dict[str, str]]) -> list[int]:
        """Prompt token ids (blocking: call it off the event loop)."""
        encoded: Any = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_dict=True
        )
        return [int(i) for i in encoded["input_ids"]]

    def submit(self, prompt_ids: list[int], sampling: Sampling) -> Generation:
        """Queues a request (call it on the event loop); raises Overloaded when the queue is full."""
        assert self.max_queued is not None
        if self.queued >= self.max_queued:
            raise Overloaded(self.queued, self.retry_after())
        request_id = uuid.uuid4().hex
        gen = Generation(self, request_id, len(prompt_ids), sampling)
        kwargs: dict[str, Any] = {"temperature": float(sampling.temperature), "top_p": float(sampling.top_p)}
        if sampling.seed is not None and sampling.temperature > 0:
            kwargs["seed"] = int(sampling.seed)
        self.manager.register_result_handler(request_id, gen.deliver)
        added = self.manager.add_request(
            prompt_ids,
            request_id=request_id,
            max_new_tokens=sampling.max_new_tokens,
            streaming=True,
            **kwargs,
        )
        if added is None:
            self._drop_handler(request_id)
            raise GenerationFailed("The engine is not accepting requests: it is stopping.")
        self.queued += 1
        return gen

    def retry_after(self) -> int:
        """Seconds a refused client should wait: about one request's time at the current pace."""
        return max(1, min(60, math.ceil(self._mean_seconds)))

    def _started(self, gen: Generation) -> None:
        self.queued -= 1
        self.running += 1

    def _finished(self, gen: Generation) -> None:
        if gen._running:
            self.running -= 1
        else:
            self.queued -= 1
        if gen.finish_reason is not None:
            self.completed += 1
            self._mean_seconds = 0.8 * self._mean_seconds + 0.2 * (time.monotonic() - gen.started_at)
        self.draw.forget(gen.request_id)

    def _cancel(self, gen: Generation, *, client_gone: bool) -> None:
        self.manager.cancel_request(gen.request_id)
        if client_gone:
            self.cancelled += 1
        try:
            asyncio.get_running_loop().call_later(HANDLER_GRACE_S, self._drop_handler, gen.request_id)
        except RuntimeError:  # no loop (shutting down): nothing more will be delivered anyway
            self._drop_handler(gen.request_id)

    def _drop_handler(self, request_id: str) -> None:
        # The library removes a handler when its request finishes; a cancelled one never does.
        router = self.manager.output_router
        with router._lock:
            router.result_handlers.pop(request_id, None)

    def alive(self) -> bool:
        return self.manager.is_running() and self.manager.background_thread_status.fatal_error is None

    def stats(self) -> dict[str, int]:
        return {
            "queued": self.queued,
            "running": self.running,
            "max_queued": int(self.max_queued or 0),
            "completed": self.completed,
            "cancelled": self.cancelled,
            "steps": int(getattr(self.manager, "current_batch", 0)),  # forward passes so far
            "largest_batch": self.draw.largest_batch,  # most requests given a token by one pass
            "kv_cache_tokens": self.kv_cache_tokens,
            "context_length": self.context_length,
        }

    def close(self) -> None:
        if self.manager.is_running():
            self.manager.stop(block=True, timeout=30)
