"""Azure Files data plane (path-style account URLs: https://127.0.0.1:PORT/{account}/{share}/...)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.azure_emulator.server import Emulator


def register(emulator: Emulator) -> None:
    """Add Azure Files routes to ``emulator.file_router``."""
    from tests.azure_emulator.files.service import FileService

    service = FileService(emulator)
    emulator.services["files"] = service
    for method in ("GET", "HEAD", "PUT", "DELETE"):
        emulator.file_router.add(method, "/{account}", service.account_op)
        emulator.file_router.add(method, "/{account}/{share}", service.share_op)
        emulator.file_router.add(method, "/{account}/{share}/{path:rest}", service.path_op)
