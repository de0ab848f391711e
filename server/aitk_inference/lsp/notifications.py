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

from aitk_inference.core.errors import AitkError
from aitk_inference.lsp import actions, methods
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
    return error.code in {"ConfigMissing", "ConfigIncomplete"}


def show_error(ls: LanguageServer, error: AitkError, *, folder: Path | None) -> None:
    choices = actions.actions_for(error, folder)

    async def run() -> None:
        choice = await _ask(ls, types.MessageType.Error, redact(str(error)), choices)
        await actions.perform(ls, choice, folder)

    in_background(run())


def show_info(ls: LanguageServer, message: str) -> None:
    ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=message))


def deployment_done(
    ls: LanguageServer,
    endpoint_url: str,
    *,
    folder: Path | None = None,
    app: str | None = None,
    project: str | None = None,
    prefix: str = "",
) -> None:
    """Names the app and project, so two deploys give two toasts, each with its own buttons."""
    message = methods.DEPLOYMENT_DONE
    if app:
        message += (
            f" {app} ({project}) answers at {endpoint_url}."
            if project
            else f" {app} answers at {endpoint_url}."
        )

    async def run() -> None:
        choice = await _ask(
            ls,
            types.MessageType.Info,
            message,
            [methods.ACTION_GO_TO_ENDPOINT, methods.ACTION_COPY_API_KEY, methods.ACTION_COPY_ENDPOINT],
        )
        if choice == methods.ACTION_GO_TO_ENDPOINT:
            log(ls, f"{prefix}Opening {endpoint_url}")
            await actions.show_document(ls, endpoint_url, external=True)
        elif choice == methods.ACTION_COPY_API_KEY:
            # No key here: the extension fetches it with its own request (see methods.COPY_API_KEY).
            ls.protocol.notify(
                methods.COPY_API_KEY, {"workspaceFolder": from_fs_path(str(folder)) if folder else None}
            )
        elif choice == methods.ACTION_COPY_ENDPOINT:
            ls.protocol.notify(methods.COPY_TO_CLIPBOARD, {"text": endpoint_url})
            log(ls, f"{prefix}Copied {endpoint_url} to the clipboard.")

    in_background(run())


def status_summary(ls: LanguageServer, result: dict[str, Any], *, folder: Path | None) -> None:
    """Status ends here: the app, its revision's state (and why it fails), whether it answers."""
    endpoint, portal = result.get("endpointUrl"), result.get("portalUrl")
    choices = [methods.ACTION_GO_TO_ENDPOINT] if isinstance(endpoint, str) else []
    choices += [methods.ACTION_OPEN_PORTAL] if isinstance(portal, str) else []
    # The next step: Start when the app is stopped, else its live log.
    stopped = str(result.get("runningStatus") or "").lower() == "stopped"
    choices.append(actions.START_APP if stopped else actions.STREAM_LOGS)
    choices.append(actions.SHOW_OUTPUT)
    kind = types.MessageType.Info if result.get("endpointHealthy") else types.MessageType.Warning

    async def run() -> None:
        choice = await _ask(ls, kind, redact(str(result.get("summary") or "")), choices)
        if choice == methods.ACTION_GO_TO_ENDPOINT and isinstance(endpoint, str):
            await actions.show_document(ls, endpoint, external=True)
        elif choice == methods.ACTION_OPEN_PORTAL and isinstance(portal, str):
            await actions.show_document(ls, portal, external=True)
        else:
            await actions.perform(ls, choice, folder)

    in_background(run())
