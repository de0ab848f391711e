"""Per-request sampling inside transformers' continuous batching: temperature, top-p and a seeded draw.

The library samples a whole batch with one ``torch.multinomial`` on the process-wide RNG, so a request's
``seed`` cannot be honoured there. Instead the last logits processor draws each request's token itself,
from a uniform number produced by that request's own ``random.Random(seed)`` (one number per generated
token, on the host, in ``prepare_tensor_args``), and hands the sampler a one-hot row; the engine runs the
library with ``do_sample=False`` so its argmax picks exactly that token. Temperature 0 means greedy.
Everything on the device is fixed-shape tensor arithmetic, so CUDA graphs can capture it. Outside a
graph capture, top-p and the draw are skipped for a batch in which no request needs them (all greedy,
or all top_p = 1): a top-p sort of 64 rows of an 8,000-word vocabulary costs ~50 ms on one CPU core.
"""

from __future__ import annotations

import random
import threading

import torch
from transformers.generation.continuous_batching.cb_logits_processors import (
    ContinuousBatchingLogitsProcessor,
)
from transformers.generation.continuous_batching.requests import FutureRequestState

GREEDY = -1.0  # the draw's argument for a greedy row


def _as_int32(values: list[float]) -> torch.Tensor:
    # The library stores every processor argument in one int32 tensor: floats travel bit-cast.
    return torch.tensor(values, dtype=torch.float32, device="cpu").view(dtype=torch.int32)


def _capturing() -> bool:
    # A captured graph replays whatever path it recorded, so while capturing always take the full path.
    return torch.cuda.is_available() and torch.cuda.is_current_stream_capturing()


def _temperature(request: FutureRequestState) -> float:
    return float(request.state.logit_processor_kwargs.get("temperature", 0.0))


class Temperature(ContinuousBatchingLogitsProcessor):
    supported_kwargs: dict[str, type] = {"temperature": float}  # noqa: RUF012 (the library's interface)
    ignored_kwargs: tuple[str, ...] = ()

    def fill_defaults(self, int32_tensor: torch.Tensor) -> None:
        int32_tensor.copy_(torch.ones_like(int32_tensor, dtype=torch.float32).view(dtype=torch.int32))

    def prepare_tensor_args(self, requests_with_new_token: list[FutureRequestState]) -> torch.Tensor:
        return _as_int32([_temperature(r) for r in requests_with_new_token])

    def __call__(self, scores: torch.Tensor, tensor_arg: torch.Tensor) -> torch.Tensor:
        t = tensor_arg[: scores.size(0)].view(dtype=torch.float32)
        # Greedy rows (t == 0) keep their logits: the draw takes their argmax.
        return scores / torch.where(t > 0, t, torch.ones_like(t)).unsqueeze(-1)


class TopP(ContinuousBatchingLogitsProcessor):
    supported_kwargs: dict[str, type] = {"top_p": float}  # noqa: RUF012
    ignored_kwargs: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.needed = True  # some request of the batch being prepared has top_p < 1

    def fill_defaults(self, int32_tensor: torch.Tensor) -> None:
        int32_tensor.copy_(torch.ones_like(int32_tensor, dtype=torch.float32).view(dtype=torch.int32))

    def prepare_tensor_args(self, requests_with_new_token: list[FutureRequestState]) -> torch.Tensor:
        values = [float(r.state.logit_processor_kwargs.get("top_p", 1.0)) for r in requests_with_new_token]
        self.needed = any(v < 1 for v in values)
        return _as_int32(values)

    def __call__(self, scores: torch.Tensor, tensor_arg: torch.Tensor) -> torch.Tensor:
        if not self.needed and not _capturing():
            return scores
        top_p = tensor_arg[: scores.size(0)].view(dtype=torch.float32)
        sorted_logits, sorted_indices = torch.sort(scores, descending=False, dim=-1)
        cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        remove = cumulative <= (1 - top_p).unsqueeze(-1)
        remove[..., -1:] = False  # always keep the most likely token
        return scores.masked_fill(remove.scatter(-1, sorted_indices, remove), float("-inf"))


class SeededDraw(ContinuousBatchingLogitsProcessor):
    """Chooses each row's token (see the module docstring); counts the rows of the largest batch."""

    supported_kwargs: dict[str, type] = {"temperature": float, "seed": int}  # noqa: RUF012
    ignored_kwargs: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._unseeded = random.Random()  # requests without a seed share this one
        self._seeded: dict[str, random.Random] = {}
        self._lock = threading.Lock()
        self.largest_batch = 0  # most requests given a token by one forward pass
        self.rows = 0  # tokens chosen in all
        self.needed = True  # some request of the batch being prepared samples

    def forget(self, request_id: str) -> None:
        with self._lock:
            self._seeded.pop(request_id, None)

    def _uniform(self, request: FutureRequestState) -> float:
        seed = request.state.logit_processor_kwargs.get("seed")
        if seed is None:
            return self._unseeded.random()
        with self._lock:
            rng = self._seeded.get(request.state.request_id)
            if rng is None:
                rng = self._seeded[request.state.request_id] = random.Random(seed)
        return rng.random()

    def fill_defaults(self, int32_tensor: torch.Tensor) -> None:
        int32_tensor.copy_(torch.full_like(int32_tensor, GREEDY, dtype=torch.float32).view(dtype=torch.int32))

    def prepare_tensor_args(self, requests_with_new_token: list[FutureRequestState]) -> torch.Tensor:
        self.largest_batch = max(self.largest_batch, len(requests_with_new_token))
        self.rows += len(requests_with_new_token)
        values = [GREEDY if _temperature(r) <= 0 else self._uniform(r) for r in requests_with_new_token]
        self.needed = any(v >= 0 for v in values)
        return _as_int32(values)

    def __call__(self, scores: torch.Tensor, tensor_arg: torch.Tensor) -> torch.Tensor:
        if not self.needed and not _capturing():
            return scores  # all greedy: the library's argmax is the answer
        u = tensor_arg[: scores.size(0)].view(dtype=torch.float32).unsqueeze(-1)  # [B, 1]
        cdf = scores.softmax(dim=-1).cumsum(dim=-1)  # [B, V]
        target = u.clamp(0, 1) * cdf[:, -1:]
        drawn = torch.searchsorted(cdf, target).clamp(max=scores.size(-1) - 1)
        chosen = torch.where(u < 0, scores.argmax(dim=-1, keepdim=True), drawn)
        return torch.full_like(scores, float("-inf")).scatter(-1, chosen, 0.0)
