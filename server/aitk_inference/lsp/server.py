"""The language server process: ``serve()`` speaks JSON-RPC on stdin/stdout (pygls 2.x).

Start-up imports only pygls, lsprotocol and the light parts of the core; the Azure SDKs load
inside the first command (see ``commands``).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException

from aitk_inference.core.operations import OPERATIONS
from aitk_inference.lsp import configuration, methods
from aitk_inference.lsp.commands import run_command
from aitk_inference.lsp.language_server import AitkLanguageServer


def _register_command(server: AitkLanguageServer, name: str) -> None:
    """``aitk.inference.server.NAME`` for each entry of the operations table."""
    command = methods.server_command(name)

    async def handler(ls: AitkLanguageServer, *args: Any) -> Any:
        await configuration.refresh(ls)  # the settings as they are now (no restart needed)
        return await run_command(ls, name, command, args)

    server.command(command)(handler)


def create_server() -> AitkLanguageServer:
    server = AitkLanguageServer()

    for name in OPERATIONS:
        _register_command(server, name)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: AitkLanguageServer, params: types.InitializedParams) -> None:
        await configuration.register(ls)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def configuration_changed(
        ls: AitkLanguageServer, params: types.DidChangeConfigurationParams
    ) -> None:
        # The pushed payload is ignored: the section is pulled, as before a command.
        await configuration.refresh(ls)

    @server.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def progress_cancel(ls: AitkLanguageServer, params: types.WorkDoneProgressCancelParams) -> None:
        ls.operations.cancel_progress(params.token)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: AitkLanguageServer, params: None) -> None:
        ls.operations.cancel_all()

    return server


class _QuietUserErrors(logging.Filter):
    """pygls logs every error response with a traceback; ours are answers, not server faults."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, JsonRpcException)


def _configure_logging() -> None:
    # stdout carries the protocol; diagnostics go to stderr, warnings and up only (pygls logs
    # whole messages at info/debug level, and the client's answers can hold access tokens).
    logging.basicConfig(
        stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("pygls").setLevel(logging.WARNING)
    logging.getLogger("pygls.protocol.json_rpc").addFilter(_QuietUserErrors())


def serve() -> None:
    """Run the server on stdio until the client says exit."""
    _configure_logging()
    create_server().start_io()
