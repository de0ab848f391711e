"""A real server process (stdio JSON-RPC) driven by pytest-lsp's client, plus a scripted user
that answers the server's requests (pickers, input, sign-in, message buttons)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.uris import from_fs_path
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.azure_emulator import tokens

FAKE_AZ_DIR = Path(__file__).resolve().parents[1] / "azure_emulator" / "fake_az"
SERVER_COMMAND = [sys.executable, "-m", "aitk_inference", "serve"]
ARM_SCOPE = "https://management.azure.com/.default"


def plain(value: Any) -> Any:
    """pygls hands untyped JSON objects to handlers as namedtuples; tests compare plain JSON."""
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {key: plain(item) for key, item in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


@dataclass
class ScriptedUser:
    """What the person at the editor does, decided by the test before it starts a command."""

    picks: list[dict[str, Any]] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    issued_tokens: list[str] = field(default_factory=list)  # to check none reaches a log
    message_requests: list[types.ShowMessageRequestParams] = field(default_factory=list)
    clipboard: list[str] = field(default_factory=list)
    copy_api_key: list[dict[str, Any]] = field(default_factory=list)
    show_output: int = 0
    run_provision: list[dict[str, Any]] = field(default_factory=list)
    create_project_files: list[dict[str, Any]] = field(default_factory=list)
    sign_in: int = 0
    open_settings: list[dict[str, Any]] = field(default_factory=list)
    pick_answer: Callable[[dict[str, Any]], Any] = lambda params: None
    input_answer: Callable[[dict[str, Any]], Any] = lambda params: None
    message_answer: Callable[[types.ShowMessageRequestParams], str | None] = lambda params: None
    # While set and not released, the first token request waits (an operation "in flight").
    token_gate: asyncio.Event | None = None
    token_requested: asyncio.Event = field(default_factory=asyncio.Event)
    pick_gate: asyncio.Event | None = None  # while set and not released, pickers stay open
    closed_picks: int = 0  # pickers the server closed ($/cancelRequest) while they were open
    answers_tokens: bool = True
    token_error: bool = False  # answer aitk/getToken with an error (e.g. the user declined sign-in)
    registrations: list[dict[str, Any]] = field(default_factory=list)  # client/registerCapability

    def attach(self, client: LanguageClient) -> None:
        @client.feature("aitk/pick")
        async def pick(params: Any) -> Any:
            params = plain(params)
            self.picks.append(params)
            if self.pick_gate is not None:
                try:
                    await self.pick_gate.wait()
                except asyncio.CancelledError:  # the client cancels a handler on $/cancelRequest
                    self.closed_picks += 1
                    raise
            return self.pick_answer(params)

        @client.feature("aitk/input")
        def input_(params: Any) -> Any:
            params = plain(params)
            self.inputs.append(params)
            return self.input_answer(params)

        if self.answers_tokens:

            @client.feature("aitk/getToken")
            async def get_token(params: Any) -> Any:
                params = plain(params)
                self.token_requests.append(params)
                self.token_requested.set()
                if self.token_gate is not None and len(self.token_requests) == 1:
                    await self.token_gate.wait()
                if self.token_error:
                    raise RuntimeError("The user did not sign in.")
                # As VS Code's Microsoft account: a token for the tenant asked for (VSCODE_TENANT:<id>),
                # else the account's home tenant, for the requested resource.
                tenant = params.get("tenantId") or tokens.HOME_TENANT
                token, expires_on = tokens.issue(tenant, tokens.resource_from_scope(params["scopes"][0]))
                self.issued_tokens.append(token)
                return {"token": token, "expiresOn": expires_on}

        @client.feature(types.CLIENT_REGISTER_CAPABILITY)
        def register_capability(params: types.RegistrationParams) -> None:
            for registration in params.registrations:
                self.registrations.append(
                    {"method": registration.method, "options": plain(registration.register_options)}
                )

        @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
        def message_request(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
            self.message_requests.append(params)
            title = self.message_answer(params)
            return types.MessageActionItem(title=title) if title else None

        @client.feature("aitk/copyToClipboard")
        def copy(params: Any) -> None:
            self.clipboard.append(plain(params)["text"])

        @client.feature("aitk/copyApiKey")
        def copy_api_key(params: Any) -> None:
            self.copy_api_key.append(plain(params))

        @client.feature("aitk/showOutput")
        def show_output(params: Any) -> None:
            self.show_output += 1

        @client.feature("aitk/runProvision")
        def run_provision(params: Any) -> None:
            self.run_provision.append(plain(params))

        @client.feature("aitk/createProjectFiles")
        def create_project_files(params: Any) -> None:
            self.create_project_files.append(plain(params))

        @client.feature("aitk/signIn")
        def sign_in(params: Any) -> None:
            self.sign_in += 1

        @client.feature("aitk/openSettings")
        def open_settings(params: Any) -> None:
            self.open_settings.append(plain(params))


@dataclass
class Session:
    client: LanguageClient
    user: ScriptedUser
    initialize_result: types.InitializeResult

    async def execute(
        self, command: str, argument: dict[str, Any] | None, *, msg_id: str | None = None
    ) -> Any:
        params = types.ExecuteCommandParams(
            command=command, arguments=[argument] if argument is not None else []
        )
        return await self.client.protocol.send_request_async(
            types.WORKSPACE_EXECUTE_COMMAND, params, msg_id=msg_id
        )

    def progress(self, token: str) -> list[Any]:
        return self.client.progress_reports.get(token, [])

    def logs(self) -> list[str]:
        return [m.message for m in self.client.log_messages]

    def new_token(self, name: str) -> str:
        self.client.progress_reports.setdefault(name, [])  # client-created tokens: register them
        return name

    async def wait_for(self, condition: Callable[[], bool], what: str, limit_s: float = 60) -> None:
        """Wait for something the server sends on its own schedule (bounded, not a timing check)."""
        deadline = time.monotonic() + limit_s
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up waiting for {what}")
            await asyncio.sleep(0.02)


StartSession = Callable[..., Awaitable[Session]]


def uri(path: Path) -> str:
    return str(from_fs_path(str(path)))


@pytest_asyncio.fixture
async def start_session() -> AsyncIterator[StartSession]:
    """``await start_session(folders, env=..., user=...)`` starts the real server process."""
    started: list[Session] = []

    async def start(
        folders: list[Path],
        *,
        env: dict[str, str] | None = None,
        user: ScriptedUser | None = None,
        settings: dict[str, Any] | None = None,
    ) -> Session:
        """``settings``: the client answers workspace/configuration (``aitk.inference`` section)
        and offers dynamic registration for didChangeConfiguration, as VS Code does."""
        # Sign-in fallback (DefaultAzureCredential) uses the az stand-in only: never a real
        # identity endpoint.
        server_env = {
            **os.environ,
            "AZURE_TOKEN_CREDENTIALS": "AzureCliCredential",
            "PATH": f"{FAKE_AZ_DIR}{os.pathsep}{os.environ.get('PATH', '')}",
            **(env or {}),
        }
        for key in (
            "AZURE_CLIENT_ID",
            "AZURE_CLIENT_SECRET",
            "AZURE_TENANT_ID",
            "IDENTITY_ENDPOINT",
            "MSI_ENDPOINT",
        ):
            server_env.pop(key, None)
        config = ClientServerConfig(server_command=SERVER_COMMAND, server_env=server_env)
        client = await config.start()
        assert isinstance(client, LanguageClient)
        user = user or ScriptedUser()
        user.attach(client)
        capabilities = types.ClientCapabilities(
            window=types.WindowClientCapabilities(
                work_done_progress=True,
                show_document=types.ShowDocumentClientCapabilities(support=True),
                show_message=types.ShowMessageRequestClientCapabilities(),
            ),
            workspace=types.WorkspaceClientCapabilities(workspace_folders=True),
        )
        if settings is not None:
            client.set_configuration(settings, section="aitk.inference")
            assert capabilities.workspace is not None
            capabilities.workspace.configuration = True
            capabilities.workspace.did_change_configuration = types.DidChangeConfigurationClientCapabilities(
                dynamic_registration=True
            )
        session = Session(client, user, None)  # type: ignore[arg-type]
        started.append(session)
        result = await client.initialize_session(
            types.InitializeParams(
                capabilities=capabilities,
                workspace_folders=[types.WorkspaceFolder(uri=uri(f), name=f.name) for f in folders],
                root_uri=uri(folders[0]) if folders else None,
            )
        )
        session.initialize_result = result
        return session

    yield start
    for session in started:
        for gate in (session.user.token_gate, session.user.pick_gate):
            if gate is not None:
                gate.set()  # a held answer would outlive the server otherwise
        await session.client.shutdown_session()
        await session.client.stop()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user project as the template ships it (infra/ and the inference app)."""
    from tests.core.helpers import make_template_project

    return make_template_project(tmp_path / "project")
