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
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from aitk_inference import __version__
from aitk_inference.lsp import configuration, methods
from aitk_inference.lsp.commands import run_command
from aitk_inference.lsp.credential import TokenCache
from aitk_inference.lsp.operations import OperationRegistry


class AitkProtocol(LanguageServerProtocol):
    def _handle_cancel_notification(self, msg_id: Any) -> None:
        """``$/cancelRequest`` on a running command cancels the operation cooperatively: it stops
        at its next safe point and answers the request with RequestCancelled. (pygls' default only
        cancels requests that have not started.)"""
        server = self._server
        if isinstance(server, AitkLanguageServer) and server.operations.cancel_request(msg_id):
            return
        super()._handle_cancel_notification(msg_id)


class AitkLanguageServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "aitk-inference",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.None_,
            protocol_cls=AitkProtocol,
        )
        self.operations = OperationRegistry()
        self.token_cache = TokenCache()
        self.settings = configuration.LiveSettings()


def create_server() -> AitkLanguageServer:
    server = AitkLanguageServer()

    @server.command(methods.CMD_PROVISION)
    async def provision(ls: AitkLanguageServer, *args: Any) -> Any:
        await configuration.refresh(ls)
        return await run_command(ls, "provision", methods.CMD_PROVISION, args)

    @server.command(methods.CMD_DEPLOY)
    async def deploy(ls: AitkLanguageServer, *args: Any) -> Any:
        await configuration.refresh(ls)
        return await run_command(ls, "deploy", methods.CMD_DEPLOY, args)

    @server.command(methods.CMD_STATUS)
    async def status(ls: AitkLanguageServer, *args: Any) -> Any:
        await configuration.refresh(ls)
        return await run_command(ls, "status", methods.CMD_STATUS, args)

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
