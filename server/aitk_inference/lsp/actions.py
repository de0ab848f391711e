"""The buttons an error notification offers, chosen so that each leads somewhere for this project,
and what pressing one does (a standard ``window/showDocument`` or an ``aitk/*`` notification the
extension acts on)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Final

from lsprotocol import types
from pygls.uris import from_fs_path

from aitk_inference.core.config import ProjectPaths
from aitk_inference.core.errors import AitkError, ConfigError
from aitk_inference.lsp import methods

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

logger = logging.getLogger(__name__)

CREATE_PROJECT_FILES: Final = "Create inference project files"
OPEN_CONFIG: Final = "Open inference.config.json"
OPEN_PARAMETERS: Final = "Open inference.parameters.json"
PROVISION: Final = "Provision"
SIGN_IN: Final = "Sign in"
OPEN_SETTINGS: Final = "Open Settings"
SHOW_OUTPUT: Final = "Show Output"
STREAM_LOGS: Final = methods.ACTION_STREAM_LOGS
START_APP: Final = methods.ACTION_START_APP

# Errors whose cause is the project's files being absent: the template adds them.
_NO_FILES = {"NoProjectFiles", "NoProjectFolder", "NoTemplate"}
# A value in inference.config.json is wrong (the file is where to fix it).
_CONFIG_VALUE = {"ConfigInvalid", "NotFoundInAzure", "WrongSubscription"}
_SIGN_IN = {"NotSignedIn", "SignInFailed"}
# A deploy that failed or timed out waiting for the app: its own log says why.
_LOGS = {"ReadinessTimeout", "RevisionFailed"}
_SETTINGS = {"TlsUntrusted", "ConnectionFailed"}


def _about(error: AitkError, path: Path) -> bool:
    return isinstance(error, ConfigError) and str(path) in error.message


def actions_for(error: AitkError, folder: Path | None) -> list[str]:
    """Most fitting first; "Show Output" always last. Never an action this project cannot do."""
    actions: list[str] = []
    paths = ProjectPaths(folder) if folder is not None else None
    code = error.code or ""
    if code == "AppStopped":
        actions.append(START_APP)
    if code in _LOGS:
        actions.append(STREAM_LOGS)
    if code in _NO_FILES or (paths is not None and not paths.infra.is_dir()):
        actions.append(CREATE_PROJECT_FILES)
    elif paths is not None:
        config_exists = paths.inference_config.is_file()
        if config_exists and (
            code in _CONFIG_VALUE | {"ConfigIncomplete"} or _about(error, paths.inference_config)
        ):
            actions.append(OPEN_CONFIG)
        if paths.parameters.is_file() and (code == "ParametersInvalid" or _about(error, paths.parameters)):
            actions.append(OPEN_PARAMETERS)
        if code in {"ConfigMissing", "ConfigIncomplete", "NotFoundInAzure"}:
            actions.append(PROVISION if paths.has_template else CREATE_PROJECT_FILES)
    if code in _SIGN_IN:
        actions.append(SIGN_IN)
    if code in _SETTINGS:
        actions.append(OPEN_SETTINGS)
    actions.append(SHOW_OUTPUT)
    return actions


async def show_document(ls: LanguageServer, uri: str, *, external: bool) -> None:
    params = types.ShowDocumentParams(uri=uri, external=external or None, take_focus=not external or None)
    try:
        await ls.window_show_document_async(params)
    except Exception as exc:  # the client cannot show it: nothing more to do
        logger.warning("window/showDocument failed: %s", exc)


async def perform(ls: LanguageServer, action: str | None, folder: Path | None) -> None:
    """Do what the pressed button says (None: the notification was dismissed)."""
    folder_uri = from_fs_path(str(folder)) if folder is not None else None
    paths = ProjectPaths(folder) if folder is not None else None
    if action == SHOW_OUTPUT:
        ls.protocol.notify(methods.SHOW_OUTPUT, {})
    elif action in (STREAM_LOGS, START_APP):
        # The extension runs its own command, which shows that operation's progress.
        command = "logs" if action == STREAM_LOGS else "start"
        ls.protocol.notify(methods.RUN_COMMAND, {"command": command, "workspaceFolder": folder_uri})
    elif action == PROVISION:
        ls.protocol.notify(methods.RUN_PROVISION, {"workspaceFolder": folder_uri})
    elif action == CREATE_PROJECT_FILES:
        ls.protocol.notify(methods.CREATE_PROJECT_FILES, {"workspaceFolder": folder_uri})
    elif action == SIGN_IN:
        ls.protocol.notify(methods.SIGN_IN, {})
    elif action == OPEN_SETTINGS:
        ls.protocol.notify(methods.OPEN_SETTINGS, {"query": "aitk.inference"})
    elif action in (OPEN_CONFIG, OPEN_PARAMETERS) and paths is not None:
        path = paths.inference_config if action == OPEN_CONFIG else paths.parameters
        await show_document(ls, str(from_fs_path(str(path))), external=False)
