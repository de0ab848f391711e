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


def find_adapter(models_dir: Path) -> Path | None:
    """The most recently written ``adapter`` folder with an adapter_config.json under models_dir."""
    candidates = (
        [p.parent for p in models_dir.glob("**/adapter/adapter_config.json")] if models_dir.is_dir() else []
    )
    return max(candidates, key=lambda p: p.stat().st_mtime) if candidates else None


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
    args = parser.parse_args(argv)

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
    return Settings(base, adapter, name, args.host, args.port, args.load_in_4bit, args.max_new_tokens_limit)
