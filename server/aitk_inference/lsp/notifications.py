"""What the user sees when an operation ends: the "Deployment done." message with its buttons,
and errors in the same plain words as the CLI, with actions where they help.

Message requests wait for the user, so each runs as its own task on the server loop: the
command's result goes back at once and a button pressed later still does its job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.uris import from_fs_path

from aitk_inference.core.errors import AitkError, ConfigError
from aitk_inference.lsp import methods
from aitk_inference.lsp.redact import redact

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

logger = logging.getLogger(__name__)
_background: set[asyncio.Task[None]] = set()


def in_background(coro: Coroutine[Any, Any, None]) -> None:
    task = asyncio.ensure_future(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)


def log(ls: LanguageServer, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
    ls.window_log_message(types.LogMessageParams(type=kind, message=redact(message)))


async def _ask(ls: LanguageServer, kind: types.MessageType, message: str, actions: list[str]) -> str | None:
    params = types.ShowMessageRequestParams(
        type=kind, message=message, actions=[types.MessageActionItem(title=a) for a in actions]
    )
    try:
        answer = await ls.window_show_message_request_async(params)
    except Exception as exc:  # the client went away or cannot show it: nothing more to do
        logger.warning("window/showMessageRequest failed: %s", exc)
        return None
    return answer.title if isinstance(answer, types.MessageActionItem) else None


def needs_provision(error: AitkError) -> bool:
    """A missing or incomplete infra/inference.config.json: provisioning is what fills it."""
    return error.code in {"ConfigMissing", "ConfigIncomplete"} or (
        isinstance(error, ConfigError) and "inference.config.json" in error.message
    )


def show_error(ls: LanguageServer, error: AitkError, *, folder: Path | None) -> None:
    actions = [methods.ACTION_OPEN_OUTPUT]
    if needs_provision(error):
        actions.insert(0, methods.ACTION_PROVISION_NOW)

    async def run() -> None:
        choice = await _ask(ls, types.MessageType.Error, redact(str(error)), actions)
        if choice == methods.ACTION_OPEN_OUTPUT:
            ls.protocol.notify(methods.SHOW_OUTPUT, {})
        elif choice == methods.ACTION_PROVISION_NOW:
            ls.protocol.notify(
                methods.RUN_PROVISION, {"workspaceFolder": from_fs_path(str(folder)) if folder else None}
            )

    in_background(run())


def show_info(ls: LanguageServer, message: str) -> None:
    ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=message))


def deployment_done(ls: LanguageServer, endpoint_url: str, folder: Path | None = None) -> None:
    async def run() -> None:
        choice = await _ask(
            ls,
            types.MessageType.Info,
            methods.DEPLOYMENT_DONE,
            [methods.ACTION_GO_TO_ENDPOINT, methods.ACTION_COPY_API_KEY, methods.ACTION_COPY_ENDPOINT],
        )
        if choice == methods.ACTION_GO_TO_ENDPOINT:
            log(ls, f"Opening {endpoint_url}")
            try:
                await ls.window_show_document_async(types.ShowDocumentParams(uri=endpoint_url, external=True))
            except Exception as exc:
                logger.warning("window/showDocument failed: %s", exc)
        elif choice == methods.ACTION_COPY_API_KEY:
            # No key here: the extension fetches it with its own request (see methods.COPY_API_KEY).
            ls.protocol.notify(
                methods.COPY_API_KEY, {"workspaceFolder": from_fs_path(str(folder)) if folder else None}
            )
        elif choice == methods.ACTION_COPY_ENDPOINT:
            ls.protocol.notify(methods.COPY_TO_CLIPBOARD, {"text": endpoint_url})
            log(ls, f"Copied {endpoint_url} to the clipboard.")

    in_background(run())
