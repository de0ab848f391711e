"""The extension's settings, read live from the client (``workspace/configuration``).

The server registers for ``workspace/didChangeConfiguration`` on the ``aitk.inference`` section
and pulls the section again on each change and before each command, so a changed setting applies
to the next operation without a restart (as ruff-vscode and esbonio do). One table says which
setting feeds which environment variable the core already reads; a setting left empty gives the
variable back its value from the server's start-up environment. An operation already running
keeps the ARM endpoint it started with (its cloud is fixed at its start).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from aitk_inference.lsp.bridge import plain

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

logger = logging.getLogger(__name__)
SECTION = "aitk.inference"


@dataclass(frozen=True)
class Setting:
    key: str  # under SECTION, as package.json names it
    env: tuple[str, ...]  # the variables the core reads


# The extension answers cloud, armEndpoint and caBundle from user/machine scope only (never a
# workspace's values): see extension/src/trustedSettings.ts.
SETTINGS: tuple[Setting, ...] = (
    Setting("cloud", ("AZURE_CLOUD",)),
    Setting("armEndpoint", ("AZURE_RESOURCE_MANAGER_ENDPOINT",)),
    Setting("caBundle", ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")),
)


class LiveSettings:
    def __init__(self, environ: MutableMapping[str, str] | None = None) -> None:
        self._environ: MutableMapping[str, str] = os.environ if environ is None else environ
        self._base = {var: self._environ.get(var) for s in SETTINGS for var in s.env}
        self.values: dict[str, str] = {}

    def apply(self, section: Any) -> list[str]:
        """Takes the section's values (a JSON object, or nothing); returns the keys that changed."""
        data = plain(section)
        data = data if isinstance(data, dict) else {}
        changed: list[str] = []
        for setting in SETTINGS:
            raw = data.get(setting.key)
            value = raw.strip() if isinstance(raw, str) else ""
            if value == self.values.get(setting.key, ""):
                continue
            changed.append(setting.key)
            self.values[setting.key] = value
            for var in setting.env:
                base = self._base[var]
                if value:
                    self._environ[var] = value
                elif base is None:
                    self._environ.pop(var, None)
                else:
                    self._environ[var] = base
        return changed


def _client_can(ls: LanguageServer, what: str) -> bool:
    workspace = ls.client_capabilities.workspace
    if workspace is None:
        return False
    if what == "configuration":
        return bool(workspace.configuration)
    dynamic = workspace.did_change_configuration
    return bool(dynamic and dynamic.dynamic_registration)


async def register(ls: LanguageServer) -> None:
    """On ``initialized``: ask the client to tell us when the section changes, then read it."""
    if _client_can(ls, "didChangeConfiguration"):
        registration = types.Registration(
            id=str(uuid.uuid4()),
            method=types.WORKSPACE_DID_CHANGE_CONFIGURATION,
            register_options={"section": SECTION},
        )
        try:
            await ls.client_register_capability_async(types.RegistrationParams([registration]))
        except Exception as exc:  # the settings are still read before each command
            logger.warning("registering for configuration changes failed: %s", exc)
    await refresh(ls)


async def refresh(ls: LanguageServer, live: LiveSettings | None = None) -> None:
    """Pull the section from the client and apply it; says in the log what changed."""
    live = live or getattr(ls, "settings", None)
    if live is None or not _client_can(ls, "configuration"):
        return
    params = types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])
    try:
        result = await ls.workspace_configuration_async(params)
    except Exception as exc:  # keep the settings in effect; the next pull tries again
        logger.warning("workspace/configuration failed: %s", exc)
        return
    changed = live.apply(result[0] if result else None)
    if changed:
        names = ", ".join(f"{SECTION}.{key}" for key in changed)
        ls.window_log_message(
            types.LogMessageParams(type=types.MessageType.Info, message=f"Settings applied: {names}.")
        )
