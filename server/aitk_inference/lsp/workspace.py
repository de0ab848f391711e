"""Command arguments and which project folder a command works on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pygls.uris import to_fs_path

from aitk_inference.core.errors import AitkError, OperationCancelled
from aitk_inference.core.reporting import Choice

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

    from aitk_inference.core.reporting import Prompter


class BadArguments(AitkError):
    """The client sent arguments that do not follow the protocol (a bug in the client)."""


@dataclass(frozen=True)
class CommandArgs:
    workspace_folder: str | None = None
    work_done_token: str | int | None = None
    subscription_id: str | None = None
    resource_group: str | None = None
    # logs
    follow: bool = False
    tail: int | None = None
    system: bool = False
    # down: what to delete besides the app
    environment: bool = False
    log_analytics: bool = False
    storage_account: str | None = None
    file_share: str | None = None


_STRING_KEYS = {
    "workspaceFolder": "workspace_folder",
    "subscriptionId": "subscription_id",
    "resourceGroup": "resource_group",
    "storageAccount": "storage_account",
    "fileShare": "file_share",
}
_BOOL_KEYS = {
    "follow": "follow",
    "system": "system",
    "environment": "environment",
    "logAnalytics": "log_analytics",
}


def parse_arguments(command: str, args: tuple[Any, ...]) -> CommandArgs:
    """``[{"workspaceFolder"?, "workDoneToken"?, "subscriptionId"?, "resourceGroup"?}]``;
    no argument at all is allowed (everything optional)."""
    if not args:
        return CommandArgs()
    if len(args) != 1 or not isinstance(args[0], dict):
        raise BadArguments(
            f"{command} expects one argument, an object like "
            '{"workspaceFolder": "file:///…", "workDoneToken": "…"}; '
            f"got {len(args)} argument(s).",
            code="BadArguments",
        )
    raw: dict[str, Any] = args[0]
    values: dict[str, Any] = {}
    for key, name in _STRING_KEYS.items():
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise BadArguments(f"{command}: '{key}' must be a non-empty string.", code="BadArguments")
        values[name] = value.strip() if isinstance(value, str) else None
    for key, name in _BOOL_KEYS.items():
        flag = raw.get(key)
        if flag is not None and not isinstance(flag, bool):
            raise BadArguments(f"{command}: '{key}' must be true or false.", code="BadArguments")
        if flag is not None:
            values[name] = flag
    tail = raw.get("tail")
    if tail is not None and (isinstance(tail, bool) or not isinstance(tail, int)):
        raise BadArguments(f"{command}: 'tail' must be an integer.", code="BadArguments")
    values["tail"] = tail
    token = raw.get("workDoneToken")
    if token is not None and (isinstance(token, bool) or not isinstance(token, str | int)):
        raise BadArguments(f"{command}: 'workDoneToken' must be a string or an integer.", code="BadArguments")
    return CommandArgs(work_done_token=token, **values)


def folder_from_uri(uri: str) -> Path:
    path = to_fs_path(uri) if uri.startswith("file:") else None
    if path is None:
        raise BadArguments(
            f"workspaceFolder must be a file:// URI of a local folder; got '{uri}'.",
            hint="Remote workspaces are not supported: open the project folder locally.",
            code="BadArguments",
        )
    folder = Path(path)
    if not folder.is_dir():
        raise AitkError(f"The workspace folder {folder} does not exist.", code="NoProjectFolder")
    return folder


def _workspace_folders(ls: LanguageServer) -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    try:
        workspace = ls.workspace
    except RuntimeError:  # not initialized
        return found
    for folder in workspace.folders.values():
        if (path := to_fs_path(folder.uri)) is not None:
            found.append((folder.name, Path(path)))
    if not found and workspace.root_path:
        root = Path(workspace.root_path)
        found.append((root.name, root))
    return found


def log_prefix(ls: LanguageServer, folder: Path) -> str:
    """``[name] `` when several folders are open (their operations' lines may interleave), else ``""``."""
    return f"[{folder.name}] " if len(_workspace_folders(ls)) > 1 else ""


async def resolve_project(ls: LanguageServer, args: CommandArgs, prompter: Prompter) -> Path:
    """The given folder; else the workspace folder that holds ``infra/``; several: ask."""
    if args.workspace_folder:
        return folder_from_uri(args.workspace_folder)
    candidates = [(name, path) for name, path in _workspace_folders(ls) if (path / "infra").is_dir()]
    if not candidates:
        raise AitkError(
            "No workspace folder has an infra/ folder.",
            hint="Open the inference project folder, or run 'AI Toolkit: Create inference project files' first.",
            code="NoProjectFolder",
        )
    if len(candidates) == 1:
        return candidates[0][1]
    choice = await prompter.pick(
        "Which project folder?",
        [Choice(label=name, value=str(path), description=str(path)) for name, path in candidates],
        placeholder="Several workspace folders have an infra/ folder",
    )
    if choice is None:
        raise OperationCancelled("No project folder chosen.")
    return Path(choice)
