"""The three ``workspace/executeCommand`` handlers: provision, deploy, status.

Each handler resolves the project folder, registers the operation (one provision/deploy per
folder), opens the progress on the client's token and runs the core on a worker thread (see
``operations``). The core is imported inside the worker so its Azure SDKs stay off start-up.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException

from aitk_inference.core.cloud import Cloud
from aitk_inference.core.errors import AitkError, OperationCancelled
from aitk_inference.core.reporting import CancellationToken
from aitk_inference.lsp import methods, notifications
from aitk_inference.lsp.bridge import ClientBridge
from aitk_inference.lsp.credential import ClientTokenCredential
from aitk_inference.lsp.progress import LspProgress
from aitk_inference.lsp.prompter import LspPrompter
from aitk_inference.lsp.redact import redact
from aitk_inference.lsp.workspace import BadArguments, CommandArgs, parse_arguments, resolve_project

if TYPE_CHECKING:
    from aitk_inference.lsp.server import AitkLanguageServer

TITLES = {
    "provision": "Provisioning Azure Container Apps for inference",
    "deploy": "Deploying for inference",
    "status": "Checking inference status",
}
NOUNS = {"provision": "Provision", "deploy": "Deploy", "status": "Status"}


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
        async def ask(scopes: list[str]) -> Any:
            return await self.bridge.request(methods.GET_TOKEN, {"scopes": scopes}, self.cancel)

        return ClientTokenCredential(ask, self.ls.token_cache)

    async def sign_in(self, credential: ClientTokenCredential) -> None:
        """Get the ARM token first: a sign-in problem shows before any other step."""
        self.progress.report("Signing in to Azure…")
        await credential.get_token_info(self.cloud.arm_scope)
        self.progress.log(f"Signed in to Azure (token from {credential.source or 'cache'}).")
        self.cancel.raise_if_cancelled()


async def _provision(work: Work) -> dict[str, Any]:
    from aitk_inference.core.provision import provision

    async with work.credential() as credential:
        await work.sign_in(credential)
        config = await provision(
            work.folder,
            credential,
            cloud=work.cloud,
            progress=work.progress,
            prompter=LspPrompter(work.bridge, work.cancel),
            cancel=work.cancel,
            subscription_id=work.args.subscription_id,
            resource_group=work.args.resource_group,
        )
    work.progress.log(f"Provisioning done: wrote {work.folder / 'infra' / 'inference.config.json'}.")
    return dict(config)


async def _deploy(work: Work) -> dict[str, Any]:
    from aitk_inference.core.deploy import deploy

    async with work.credential() as credential:
        await work.sign_in(credential)
        result = await deploy(
            work.folder, credential, cloud=work.cloud, progress=work.progress, cancel=work.cancel
        )
    work.progress.log(
        f"Deployment done: {result.files_uploaded} file(s) uploaded ({result.bytes_uploaded} bytes), "
        f"{result.files_deleted} deleted, revision(s) restarted: {', '.join(result.revisions_restarted) or 'none'}."
    )
    work.progress.log(f"Inference endpoint: {result.endpoint_url}")
    return {
        "endpointUrl": result.endpoint_url,
        "filesUploaded": result.files_uploaded,
        "bytesUploaded": result.bytes_uploaded,
        "filesDeleted": result.files_deleted,
        "revisionsRestarted": list(result.revisions_restarted),
    }


async def _status(work: Work) -> dict[str, Any]:
    from aitk_inference.core.status import status

    async with work.credential() as credential:
        await work.sign_in(credential)
        report = await status(work.folder, credential, cloud=work.cloud, progress=work.progress)
    lines = report.lines()
    for line in lines:
        work.progress.log(line)
    return {
        "lines": lines,
        "appName": report.app_name,
        "resourceGroup": report.resource_group,
        "subscriptionId": report.subscription_id,
        "endpointUrl": report.endpoint_url,
        "latestRevision": report.latest_revision,
        "provisioningState": report.provisioning_state,
        "endpointHealthy": report.endpoint_healthy,
        "endpointDetail": report.endpoint_detail,
        "revisions": [
            {
                "name": r.name,
                "active": r.active,
                "runningState": r.running_state,
                "healthState": r.health_state,
                "replicas": r.replicas,
                "trafficWeight": r.traffic_weight,
            }
            for r in report.revisions
        ],
    }


WORK: dict[str, Callable[[Work], Awaitable[dict[str, Any]]]] = {
    "provision": _provision,
    "deploy": _deploy,
    "status": _status,
}


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
    noun = NOUNS[kind]
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
        op = ls.operations.start(kind, folder, request_id=request_id, progress_token=args.work_done_token)
        progress = LspProgress(bridge, args.work_done_token)
        progress.begin(TITLES[kind], cancellable=kind != "status")
        progress.log(f"{TITLES[kind]}: {folder}")
        project, cloud, prog = folder, Cloud.from_env(), progress

        async def work(cancel: CancellationToken) -> dict[str, Any]:
            return await WORK[kind](Work(ls, bridge, project, args, prog, cancel, cloud))

        result = await op.run_in_worker(work)
        progress.end(f"{noun} done.")
        if kind == "deploy":
            notifications.deployment_done(ls, result["endpointUrl"])
        elif kind == "provision":
            notifications.show_info(ls, "Provisioning done. infra/inference.config.json is up to date.")
        return result
    except OperationCancelled as exc:
        _end(
            ls, progress, f"{noun} cancelled.", f"{noun} cancelled: {exc.message}", types.MessageType.Warning
        )
        # detail: the core's words, e.g. that an ARM deployment already started goes on in Azure
        raise _rpc_error(
            types.LSPErrorCodes.RequestCancelled, f"{noun} cancelled.", exc, detail=exc.message
        ) from None
    except BadArguments as exc:
        _end(ls, progress, f"{noun} failed.", f"{noun} failed: {exc}", types.MessageType.Error)
        notifications.show_error(ls, exc, folder=folder)
        raise _rpc_error(types.ErrorCodes.InvalidParams, str(exc), exc) from None
    except AitkError as exc:
        _end(ls, progress, f"{noun} failed.", f"{noun} failed: {exc}", types.MessageType.Error)
        notifications.show_error(ls, exc, folder=folder)
        raise _rpc_error(types.LSPErrorCodes.RequestFailed, str(exc), exc) from None
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
