"""Token ids to text as they arrive: incremental decoding and OpenAI ``stop`` sequences."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class IncrementalDecoder:
    """Decodes only a short window of recent tokens per step (not the whole answer every token).

    The window starts a few tokens back so tokenizers that decide spacing from the previous token (the
    SentencePiece family) decode the new piece as they would inside the full text, and text ending in an
    incomplete UTF-8 sequence is held back until the next token completes it.
    """

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.prefix = 0  # start of the window
        self.read = 0  # tokens already turned into text

    def _decode(self, ids: Sequence[int]) -> str:
        return str(self.tokenizer.decode(list(ids), skip_special_tokens=True))

    def step(self, ids: Sequence[int]) -> str:
        if len(ids) <= self.read:
            return ""
        before = self._decode(ids[self.prefix : self.read])
        after = self._decode(ids[self.prefix :])
        if len(after) <= len(before) or after.endswith("\ufffd"):
            return ""
        self.prefix, self.read = self.read, len(ids)
        return after[len(before) :]


class StopMatcher:
    """Holds back text that may be the start of a stop sequence; reports when one is complete."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [s for s in stops if s]
        self.hold = max((len(s) for s in self.stops), default=1) - 1
        self.pending = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        """Text safe to emit now; sets ``stopped`` when a stop sequence appeared (it is not emitted)."""
        if not self.stops:
            return text
        self.pending += text
        hits = [i for i in (self.pending.find(s) for s in self.stops) if i >= 0]
        if hits:
            self.stopped = True
            out, self.pending = self.pending[: min(hits)], ""
            return out
        cut = max(0, len(self.pending) - self.hold)
        out, self.pending = self.pending[:cut], self.pending[cut:]
        return out

    def flush(self) -> str:
        out, self.pending = self.pending, ""
        return out
