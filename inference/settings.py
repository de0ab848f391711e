"""Where the model and adapter live, and how to serve them (environment variables or arguments).

Defaults follow the fine-tuning job's layout on the share mounted at /mount:
  /mount/model-cache/<org>/<model>          base model (as saved by the fine-tuning job)
  /mount/models/<...>/adapter/              LoRA adapter (adapter_config.json + adapter_model.safetensors)
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

MOUNT = Path(os.environ.get("AITK_MOUNT", "/mount"))


@dataclass(frozen=True)
class Settings:
    base_model: str  # a folder, or a hub id when no folder exists (downloads into model-cache)
    adapter: Path | None
    model_name: str  # the id reported by /v1/models and in completions
    host: str
    port: int
    load_in_4bit: bool
    max_new_tokens_limit: int
    # Serving engine (transformers continuous batching). None: derived at start-up (see engine.py).
    max_queued_requests: int | None = None  # admitted requests waiting for their first token; beyond: 429
    kv_cache_blocks: int | None = None  # KV cache size in blocks of kv_page_size tokens
    kv_cache_memory_fraction: float = 0.8  # of the accelerator's free memory, when kv_cache_blocks is unset
    kv_page_size: int = 256
    max_batch_tokens: int | None = None  # tokens in one forward pass (prefill chunks + decodes)
    max_batch_requests: int | None = None  # requests in one forward pass
    max_model_len: int | None = None  # lowers the context below the model's own
    max_request_bytes: int = 1 << 20  # request body cap (413 beyond)


def find_adapter(models_dir: Path) -> Path | None:
    """The most recently written ``adapter`` folder with an adapter_config.json under models_dir."""
    candidates = (
        [p.parent for p in models_dir.glob("**/adapter/adapter_config.json")] if models_dir.is_dir() else []
    )
    return max(candidates, key=lambda p: p.stat().st_mtime) if candidates else None


def _optional_int(value: str | None) -> int | None:
    return int(value) if value else None


def parse(argv: list[str] | None = None) -> Settings:
    env = os.environ
    parser = argparse.ArgumentParser(
        description="Serve a base model + LoRA adapter: Gradio chat and OpenAI-compatible API."
    )
    parser.add_argument(
        "--base-model-id", default=env.get("BASE_MODEL_ID", "microsoft/Phi-3-mini-4k-instruct")
    )
    parser.add_argument(
        "--base-model-path",
        default=env.get("BASE_MODEL_PATH"),
        help="default: /mount/model-cache/<base-model-id>",
    )
    parser.add_argument(
        "--adapter-path", default=env.get("ADAPTER_PATH"), help="default: newest /mount/models/**/adapter"
    )
    parser.add_argument("--baseonly", action="store_true", default=env.get("BASE_ONLY", "") in ("1", "true"))
    parser.add_argument("--host", default=env.get("HOST", "0.0.0.0"))
    parser.add_argument("--port", type=int, default=int(env.get("PORT", "7860")))
    parser.add_argument(
        "--load-in-4bit", action="store_true", default=env.get("LOAD_IN_4BIT", "") in ("1", "true")
    )
    parser.add_argument(
        "--max-new-tokens-limit", type=int, default=int(env.get("MAX_NEW_TOKENS_LIMIT", "4096"))
    )
    parser.add_argument(
        "--max-queued-requests",
        type=int,
        default=_optional_int(env.get("MAX_QUEUED_REQUESTS")),
        help="default: derived from the KV cache size",
    )
    parser.add_argument(
        "--kv-cache-blocks",
        type=int,
        default=_optional_int(env.get("KV_CACHE_BLOCKS")),
        help="default: KV_CACHE_MEMORY_FRACTION of free GPU memory; 256 on CPU",
    )
    parser.add_argument(
        "--kv-cache-memory-fraction", type=float, default=float(env.get("KV_CACHE_MEMORY_FRACTION", "0.8"))
    )
    parser.add_argument("--kv-page-size", type=int, default=int(env.get("KV_PAGE_SIZE", "256")))
    parser.add_argument("--max-batch-tokens", type=int, default=_optional_int(env.get("MAX_BATCH_TOKENS")))
    parser.add_argument(
        "--max-batch-requests", type=int, default=_optional_int(env.get("MAX_BATCH_REQUESTS"))
    )
    parser.add_argument("--max-model-len", type=int, default=_optional_int(env.get("MAX_MODEL_LEN")))
    parser.add_argument(
        "--max-request-bytes", type=int, default=int(env.get("MAX_REQUEST_BYTES", str(1 << 20)))
    )
    args = parser.parse_args(argv)
    if not 0 < args.kv_cache_memory_fraction <= 1:
        raise SystemExit(f"KV_CACHE_MEMORY_FRACTION must be in (0, 1], got {args.kv_cache_memory_fraction}.")

    base_path = (
        Path(args.base_model_path) if args.base_model_path else MOUNT / "model-cache" / args.base_model_id
    )
    base = str(base_path) if base_path.is_dir() else args.base_model_id
    adapter: Path | None = None
    if not args.baseonly:
        adapter = Path(args.adapter_path) if args.adapter_path else find_adapter(MOUNT / "models")
        if adapter is not None and not (adapter / "adapter_config.json").is_file():
            raise SystemExit(
                f"No adapter_config.json in {adapter}: set ADAPTER_PATH to the adapter folder, or pass --baseonly."
            )
    name = args.base_model_id.split("/")[-1] + ("-lora" if adapter else "")
    return Settings(
        base_model=base,
        adapter=adapter,
        model_name=name,
        host=args.host,
        port=args.port,
        load_in_4bit=args.load_in_4bit,
        max_new_tokens_limit=args.max_new_tokens_limit,
        max_queued_requests=args.max_queued_requests,
        kv_cache_blocks=args.kv_cache_blocks,
        kv_cache_memory_fraction=args.kv_cache_memory_fraction,
        kv_page_size=args.kv_page_size,
        max_batch_tokens=args.max_batch_tokens,
        max_batch_requests=args.max_batch_requests,
        max_model_len=args.max_model_len,
        max_request_bytes=args.max_request_bytes,
    )
