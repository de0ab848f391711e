"""Core ``Prompter`` -> ``aitk/pick`` / ``aitk/input`` / ``window/showMessageRequest`` on the client."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lsprotocol import types

from aitk_inference.core.errors import AitkError
from aitk_inference.core.reporting import CREATE_NEW, CancellationToken, Choice
from aitk_inference.lsp import methods
from aitk_inference.lsp.bridge import ClientBridge

CONTINUE = "Continue"


class LspPrompter:
    """Asks the user through the client. A pending question is abandoned when the operation is
    cancelled; a dismissed one returns None (the core decides what that means)."""

    def __init__(self, bridge: ClientBridge, cancel: CancellationToken | None = None) -> None:
        self._bridge = bridge
        self._cancel = cancel

    async def pick(
        self,
        title: str,
        items: Sequence[Choice],
        *,
        placeholder: str | None = None,
        create_new_label: str | None = None,
    ) -> str | None:
        params: dict[str, Any] = {
            "title": title,
            "items": [
                {"label": c.label, "value": c.value}
                | ({"description": c.description} if c.description else {})
                for c in items
            ],
        }
        if placeholder:
            params["placeHolder"] = placeholder
        if create_new_label:
            params["createNewLabel"] = create_new_label
        answer = await self._bridge.request(methods.PICK, params, self._cancel)
        if answer is None:
            return None
        if answer == methods.PICK_CREATE_NEW and create_new_label:
            return CREATE_NEW
        if not isinstance(answer, str) or answer not in {c.value for c in items}:
            raise AitkError(
                f"The editor answered {methods.PICK} '{title}' with a value that was not offered.",
                hint="Report this as a bug in the AI Toolkit extension.",
            )
        return answer

    async def input(
        self, title: str, *, placeholder: str | None = None, value: str | None = None
    ) -> str | None:
        params: dict[str, Any] = {"title": title}
        if placeholder:
            params["placeHolder"] = placeholder
        if value is not None:
            params["value"] = value
        answer = await self._bridge.request(methods.INPUT, params, self._cancel)
        if answer is not None and not isinstance(answer, str):
            raise AitkError(
                f"The editor answered {methods.INPUT} '{title}' with a {type(answer).__name__}, not text.",
                hint="Report this as a bug in the AI Toolkit extension.",
            )
        return answer

    async def confirm(self, message: str) -> bool:
        params = types.ShowMessageRequestParams(
            type=types.MessageType.Warning,
            message=message,
            actions=[types.MessageActionItem(title=CONTINUE)],
        )
        answer = await self._bridge.request(types.WINDOW_SHOW_MESSAGE_REQUEST, params, self._cancel)
        return isinstance(answer, types.MessageActionItem) and answer.title == CONTINUE
