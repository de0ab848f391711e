"""The server object: pygls' ``LanguageServer`` plus what operations share (the running
operations, the token cache), and a protocol whose ``$/cancelRequest`` reaches running commands."""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from aitk_inference import __version__
from aitk_inference.lsp import configuration
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
