"""Entry point: ``python app.py [--baseonly] [--port 7860]`` serves the chat UI at / and the API under /v1."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gradio as gr
import uvicorn
from api import build_api
from auth import ApiKey
from chat_ui import build_ui
from engine import Engine
from settings import parse


def create_app(argv: list[str] | None = None):  # type: ignore[no-untyped-def]
    settings = parse(argv)
    log = logging.getLogger("inference")
    log.info("base model %s, adapter %s", settings.base_model, settings.adapter or "none")
    key = ApiKey.from_env()
    if not key.configured:
        log.warning("INFERENCE_API_KEY is not set: /v1 answers 503 and the chat accepts no login")
    engine = Engine(settings)
    api = build_api(engine, key)
    app = gr.mount_gradio_app(
        api,
        build_ui(engine),
        path="/",
        auth=key.gradio_login,
        auth_message=key.gradio_message,
        app_kwargs={"openapi_url": None, "docs_url": None, "redoc_url": None},  # Gradio's own schema too
    )
    return app, settings


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    app, settings = create_app(argv)
    print(f"Serving {settings.model_name} on http://{settings.host}:{settings.port}", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")


if __name__ == "__main__":
    main(sys.argv[1:])
