"""The ``workspace/executeCommand`` handler for every entry of the operations table
(``core.operations``): provision, deploy, status.

It resolves the project folder, registers the operation (one exclusive operation per folder),
opens the progress on the client's token, signs in with the client's token and runs the table's
coroutine on a worker thread (see ``operations``). The core is imported inside the worker so its
Azure SDKs stay off start-up.
"""

from __future__ import annotations

import asyncio
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException

from aitk_inference.core.azure.cloud import Cloud
from aitk_inference.core.errors import AitkError, OperationCancelled
from aitk_inference.core.operations import OPERATIONS, Operation, OperationInput
from aitk_inference.core.reporting import CancellationToken
from aitk_inference.lsp import methods, notifications
from aitk_inference.lsp.actions import actions_for
from aitk_inference.lsp.bridge import ClientBridge
from aitk_inference.lsp.credential import ClientTokenCredential
from aitk_inference.lsp.language_server import AitkLanguageServer
from aitk_inference.lsp.progress import LspProgress
from aitk_inference.lsp.prompter import LspPrompter
from aitk_inference.lsp.redact import redact
from aitk_inference.lsp.workspace import (
    BadArguments,
    CommandArgs,
    log_prefix,
    parse_arguments,
    resolve_project,
)


@dataclass
class Work:
    """What an operation's worker needs; lives on the worker thread."""

    ls: AitkLanguageServer
    bridge: ClientBridge
    folder: Path
    args: CommandArgs
    progress: LspProgress
    cancel: CancellationToken
    cloud: Cloud

    def credential(self) -> ClientTokenCredential:
        async def ask(scopes: list[str], tenant_id: str | None) -> Any:
            params: dict[str, Any] = {"scopes": scopes}
            if tenant_id:
                params["tenantId"] = tenant_id
            return await self.bridge.request(methods.GET_TOKEN, params, self.cancel)

        from aitk_inference.core.azure.clients import default_credential

        return ClientTokenCredential(
            ask, self.ls.token_cache, fallback_factory=lambda: default_credential(self.cloud)
        )

    async def sign_in(self, credential: ClientTokenCredential) -> None:
        """Get the ARM token first: a sign-in problem shows before any other step."""
        self.progress.report("Signing in to Azure…")
        await credential.get_token_info(self.cloud.arm_scope)
        self.progress.log(f"Signed in to Azure (token from {credential.source or 'cache'}).")
        self.cancel.raise_if_cancelled()

    def log_line(self, line: str) -> None:
        """A line of the app's log, for the extension's log output channel."""
        self.bridge.notify(methods.LOG_LINES, {"lines": [redact(line)]})

    async def run(self, operation: Operation) -> dict[str, Any]:
        async with self.credential() as credential:
            await self.sign_in(credential)
            outcome = await operation.run(
                OperationInput(
                    project=self.folder,
                    credential=credential,
                    cloud=self.cloud,
                    progress=self.progress,
                    prompter=LspPrompter(self.bridge, self.cancel),
                    cancel=self.cancel,
                    subscription_id=self.args.subscription_id,
                    resource_group=self.args.resource_group,
                    emit=self.log_line,
                    follow=self.args.follow,
                    tail=self.args.tail,
                    system=self.args.system,
                    delete={
                        "environment": self.args.environment,
                        "log_analytics": self.args.log_analytics,
                        "storage_account": self.args.storage_account,
                        "file_share": self.args.file_share,
                    },
                )
            )
        for line in outcome.lines:
            self.progress.log(line)
        if outcome.secret is None:
            return outcome.data
        # Only in the result of the command that asked for it (the extension redacts "apiKey" in
        # its trace and output; see server/README.md "The API key").
        return {**outcome.data, "apiKey": outcome.secret}


def _rpc_error(code: int, message: str, error: AitkError | None = None, **extra: Any) -> JsonRpcException:
    data: dict[str, Any] = {}
    if error is not None:
        data = {
            "code": error.code,
            "hint": error.hint,
            "provisionNeeded": notifications.needs_provision(error),
        }
    return JsonRpcException(message=message, code=code, data=data | extra)


async def run_command(ls: AitkLanguageServer, kind: str, command: str, raw_args: tuple[Any, ...]) -> Any:
    operation = OPERATIONS[kind]
    noun = operation.noun
    request_id = ls.protocol.msg_id
    bridge = ClientBridge(ls, asyncio.get_running_loop())
    folder: Path | None = None
    progress: LspProgress | None = None
    op = None
    try:
        args = parse_arguments(command, raw_args)
        early = ls.operations.prepare(request_id, args.work_done_token)
        try:
            folder = await resolve_project(ls, args, LspPrompter(bridge, early))
            early.raise_if_cancelled()
        finally:
            ls.operations.prepared(early)
        op = ls.operations.start(
            kind,
            folder,
            exclusive=operation.exclusive,
            request_id=request_id,
            progress_token=args.work_done_token,
        )
        progress = LspProgress(bridge, args.work_done_token, prefix=log_prefix(ls, folder))
        progress.begin(operation.title, cancellable=operation.cancellable)
        progress.log(f"{operation.title}: {folder}")
        project, prog = folder, progress

        async def work(cancel: CancellationToken) -> dict[str, Any]:
            from aitk_inference.core.azure.cloud_metadata import resolve_cloud

            cloud = await resolve_cloud()  # AZURE_CLOUD / AZURE_RESOURCE_MANAGER_ENDPOINT from the client
            return await Work(ls, bridge, project, args, prog, cancel, cloud).run(operation)

        result = await op.run_in_worker(work)
        progress.end(f"{noun} done.")
        if kind == "deploy":
            app = result.get("appName")
            notifications.deployment_done(
                ls,
                result["endpointUrl"],
                folder=folder,
                app=app,
                project=folder.name,
                prefix=log_prefix(ls, folder),
            )
        elif kind == "provision":
            notifications.show_info(
                ls,
                f"Provisioning done for {folder.name}: infra/inference.config.json is up to date "
                f"(container app {result.get('ACA_APP_NAME')}).",
            )
        elif kind == "status":
            notifications.status_summary(ls, result, folder=folder)
        return result
    except OperationCancelled as exc:
        # OperationCancelled's default words add nothing to "Deploy cancelled."
        line = f"{noun} cancelled." if exc.message == "Cancelled." else f"{noun} cancelled: {exc.message}"
        _end(ls, progress, f"{noun} cancelled.", line, types.MessageType.Warning)
        # detail: the core's words, e.g. that an ARM deployment already started goes on in Azure
        raise _rpc_error(
            types.LSPErrorCodes.RequestCancelled, f"{noun} cancelled.", exc, detail=exc.message
        ) from None
    except BadArguments as exc:
        _end(ls, progress, f"{noun} failed.", f"{noun} failed: {exc}", types.MessageType.Error)
        notifications.show_error(ls, exc, folder=folder)
        raise _rpc_error(
            types.ErrorCodes.InvalidParams, str(exc), exc, actions=actions_for(exc, folder)
        ) from None
    except AitkError as exc:
        _end(ls, progress, f"{noun} failed.", f"{noun} failed: {exc}", types.MessageType.Error)
        notifications.show_error(ls, exc, folder=folder)
        raise _rpc_error(
            types.LSPErrorCodes.RequestFailed, str(exc), exc, actions=actions_for(exc, folder)
        ) from None
    except Exception as exc:
        detail = redact("".join(traceback.format_exception(exc)))
        message = f"{noun} failed unexpectedly: {type(exc).__name__}: {redact(str(exc))}"
        _end(ls, progress, f"{noun} failed.", f"{message}\n{detail}", types.MessageType.Error)
        unexpected = AitkError(message, hint="The AI Toolkit output has the details.")
        notifications.show_error(ls, unexpected, folder=folder)
        raise _rpc_error(types.ErrorCodes.InternalError, message) from None
    finally:
        if op is not None:
            ls.operations.finish(op)


def _end(
    ls: AitkLanguageServer, progress: LspProgress | None, end: str, line: str, kind: types.MessageType
) -> None:
    if progress is not None:
        progress.log(line, "error" if kind == types.MessageType.Error else "warning")
        progress.end(end)
    else:
        notifications.log(ls, line, kind)
