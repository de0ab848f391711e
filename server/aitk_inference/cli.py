"""Command-line interface (thin layer over ``aitk_inference.core``).

``aitk-inference provision|deploy|status|logs|stop|start|down|api-key|serve``. Progress goes to stderr, results to
stdout; errors are one paragraph (message + what to do), with the traceback only under ``--debug``.

A key the user chooses is read from an environment variable named on the command line
(``--api-key-from-env VAR``), never from an argument: arguments land in shell history and in
``ps`` output for every user of the machine. ``api-key`` prints the key alone on stdout (its
description on stderr), so ``KEY=$(aitk-inference api-key)`` captures just the key.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from aitk_inference.core.errors import AitkError, OperationCancelled
from aitk_inference.core.reporting import (
    CREATE_NEW,
    CancellationToken,
    Choice,
    NonInteractivePrompter,
    Prompter,
)

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CANCELLED = 130


class ConsoleProgress:
    """Step lines on stderr; on a terminal, repeated reports of one step redraw a single bar line."""

    def __init__(self, stream: TextIO = sys.stderr, *, debug: bool = False) -> None:
        self.stream = stream
        self.debug = debug
        self.tty = stream.isatty()
        self._last_message: str | None = None
        self._last_bucket = -1
        self._bar_open = False

    def _end_bar(self) -> None:
        if self._bar_open:
            self.stream.write("\n")
            self._bar_open = False

    def report(self, message: str, percentage: float | None = None) -> None:
        pct = "" if percentage is None else f"[{percentage:5.1f}%] "
        if self.tty and percentage is not None:
            filled = int(max(0.0, min(100.0, percentage)) / 100 * 30)
            self.stream.write(
                f"\r[{'#' * filled}{'.' * (30 - filled)}] {percentage:5.1f}% {message[:70]:<70}"
            )
            self.stream.flush()
            self._bar_open = True
            return
        # Not a terminal: one line per new step, plus one per 10% of a long step.
        bucket = -1 if percentage is None else int(percentage // 10)
        if message != self._last_message or bucket != self._last_bucket:
            self._end_bar()
            self.stream.write(f"{pct}{message}\n")
            self.stream.flush()
        self._last_message, self._last_bucket = message, bucket

    def log(self, message: str, level: str = "info") -> None:
        if level == "debug" and not self.debug:
            return
        self._end_bar()
        prefix = "" if level == "info" else f"{level}: "
        self.stream.write(f"{prefix}{message}\n")
        self.stream.flush()

    def close(self) -> None:
        self._end_bar()


class ConsolePrompter:
    """Asks on the terminal (numbered choices); ``assume_yes`` answers confirmations with yes."""

    def __init__(self, *, assume_yes: bool, stream: TextIO = sys.stderr) -> None:
        self.assume_yes = assume_yes
        self.stream = stream

    async def _ask(self, prompt: str) -> str | None:
        self.stream.write(prompt)
        self.stream.flush()
        line = await asyncio.to_thread(sys.stdin.readline)
        return line.strip() if line else None

    async def pick(
        self,
        title: str,
        items: Sequence[Choice],
        *,
        placeholder: str | None = None,
        create_new_label: str | None = None,
    ) -> str | None:
        options: list[tuple[str, str]] = [
            (item.label + (f"  ({item.description})" if item.description else ""), item.value)
            for item in items
        ]
        if create_new_label:
            options.append((create_new_label, CREATE_NEW))
        if not options:
            return None
        self.stream.write(f"{title}\n")
        for number, (label, _value) in enumerate(options, 1):
            self.stream.write(f"  {number}. {label}\n")
        while True:
            answer = await self._ask(f"{placeholder or 'Choose a number'} (empty to cancel): ")
            if not answer:
                return None
            if answer.isdigit() and 1 <= int(answer) <= len(options):
                return options[int(answer) - 1][1]
            self.stream.write(f"Please enter a number from 1 to {len(options)}.\n")

    async def input(
        self, title: str, *, placeholder: str | None = None, value: str | None = None
    ) -> str | None:
        default = f" [{value}]" if value else ""
        answer = await self._ask(f"{title}{default}: ")
        if answer is None:
            return None
        return answer or value

    async def confirm(self, message: str) -> bool:
        if self.assume_yes:
            return True
        answer = await self._ask(f"{message} [y/N]: ")
        return (answer or "").lower() in ("y", "yes")


# What each question of provision asks for (a word of its title), and the argument that answers it.
_ARGUMENT_FOR = (
    ("subscription", "--subscription"),
    ("location", "--location"),
    ("resource group", "--resource-group"),
)


class AssumeYesPrompter(NonInteractivePrompter):
    """No terminal to ask on: questions are errors naming the argument to pass; confirmations need --yes."""

    def __init__(self, assume_yes: bool) -> None:
        super().__init__(reason="nothing given and no terminal to ask on")
        self.assume_yes = assume_yes

    def _unanswerable(self, title: str) -> Exception:
        argument = next((arg for word, arg in _ARGUMENT_FOR if word in title.lower()), None)
        hint = f"Pass {argument}" if argument else "Run it in a terminal to answer"
        if argument in ("--subscription", "--resource-group"):
            hint += " (or set it in infra/finetuning.config.json)"
        return AitkError(f"{title}: {self.reason}.", hint=f"{hint}.")

    async def confirm(self, message: str) -> bool:
        if not self.assume_yes:
            raise AitkError(f"{message} No terminal to confirm on.", hint="Pass --yes to go ahead.")
        return True


def _seconds(text: str) -> float:
    """A positive number of seconds (argparse turns the ValueError into a usage error)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aitk-inference",
        description="Provision Azure Container Apps for a fine-tuned model, deploy the project to it, check its status.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--project", type=Path, default=Path.cwd(), help="project folder (holds infra/); default: ."
    )
    common.add_argument(
        "--cloud",
        help="Azure cloud: AzureCloud, AzureUSGovernment or AzureChinaCloud; default: $AZURE_CLOUD, else AzureCloud",
    )
    common.add_argument(
        "--arm-endpoint",
        help="custom Azure Resource Manager endpoint (Azure Stack Hub), described by its metadata document; "
        "default: $AZURE_RESOURCE_MANAGER_ENDPOINT",
    )
    common.add_argument("--debug", action="store_true", help="show debug logs and tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    prov = sub.add_parser(
        "provision", parents=[common], help="create the Azure resources and write infra/inference.config.json"
    )
    prov.add_argument(
        "--subscription", help="subscription ID (default: infra/finetuning.config.json, else ask)"
    )
    prov.add_argument(
        "--resource-group", help="resource group name (default: infra/finetuning.config.json, else ask)"
    )
    prov.add_argument("--location", help="location for a resource group that has to be created (else ask)")
    prov.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    prov.add_argument(
        "--api-key-from-env",
        metavar="VAR",
        help="set the endpoint's API key to the value of environment variable VAR "
        "(default: keep the app's key, or create one)",
    )
    dep = sub.add_parser(
        "deploy", parents=[common], help="upload the project, restart the app, wait until it answers"
    )
    dep.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    dep.add_argument(
        "--timeout", type=_seconds, default=900.0, help="seconds to wait for the app to answer (default 900)"
    )
    dep.add_argument(
        "--take-over",
        action="store_true",
        help="replace files on the share at project paths that this tool did not write (else deploy stops and lists them)",
    )
    dep.add_argument(
        "--lock-wait",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long to wait for another deploy to the same file share to finish (default 120)",
    )
    stat = sub.add_parser(
        "status", parents=[common], help="show the app, its revisions and whether the endpoint answers"
    )
    key = sub.add_parser(
        "api-key",
        parents=[common],
        help="print the endpoint's API key (read from the container app's secrets); --rotate sets a new one",
    )
    key.add_argument(
        "--rotate", action="store_true", help="set a new key and restart the active revisions, then print it"
    )
    key.add_argument(
        "--api-key-from-env",
        metavar="VAR",
        help="with --rotate: the new key is the value of environment variable VAR (default: a random key)",
    )
    key.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    stat.add_argument("--json", action="store_true", help="print one JSON object (for CI) instead of lines")
    logs = sub.add_parser(
        "logs", parents=[common], help="print the app replica's console log (or the system log)"
    )
    logs.add_argument("--follow", "-f", action="store_true", help="keep streaming until Ctrl-C")
    logs.add_argument(
        "--tail", type=int, default=None, help="lines of history to show first (0-300, default 20)"
    )
    logs.add_argument(
        "--system", action="store_true", help="Container Apps' system log instead of the console"
    )
    sub.add_parser("stop", parents=[common], help="stop the app (no replica runs, no GPU bills)")
    sub.add_parser("start", parents=[common], help="start a stopped app again")
    down = sub.add_parser(
        "down",
        parents=[common],
        help="delete the container app (and, if asked, its environment); the storage is kept unless named",
    )
    down.add_argument("--yes", "-y", action="store_true", help="delete without typing the app name")
    down.add_argument(
        "--environment", action="store_true", help="also delete the app's Container Apps environment"
    )
    down.add_argument(
        "--log-analytics", action="store_true", help="also delete the environment's Log Analytics workspace"
    )
    down.add_argument(
        "--storage-account",
        metavar="NAME",
        help="also delete this storage account (with its shares and files)",
    )
    down.add_argument("--file-share", metavar="NAME", help="also delete this file share (and its files)")
    serve = sub.add_parser(
        "serve", help="run the language server for the VS Code extension (JSON-RPC over stdio)"
    )
    serve.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    return parser


def _prompter(args: argparse.Namespace) -> Prompter:
    assume_yes = bool(getattr(args, "yes", False))
    if sys.stdin.isatty():
        return ConsolePrompter(assume_yes=assume_yes)
    if args.command == "down":
        return NonInteractivePrompter(
            "Pass --yes to delete without typing it.", reason="no terminal to type it on"
        )
    return AssumeYesPrompter(assume_yes)


def _supplied_api_key(args: argparse.Namespace) -> str | None:
    """The key named by ``--api-key-from-env`` (never echoed, also not in errors)."""
    from aitk_inference.core.deploy.api_key import check_user_key

    var = getattr(args, "api_key_from_env", None)
    if var is None:
        return None
    if args.command == "api-key" and not args.rotate:
        raise AitkError("--api-key-from-env sets a new key, so it goes with --rotate.", hint="Add --rotate.")
    value = os.environ.get(var)
    if not value or not value.strip():
        raise AitkError(
            f"--api-key-from-env {var}: the environment variable {var} is not set or empty.",
            hint=f"Set it in this shell without echoing the key (e.g. `read -rs {var}; export {var}`), then run again.",
        )
    return check_user_key(value, f"the environment variable {var}")


def _print_line(line: str) -> None:
    print(line, flush=True)


def _delete_options(args: argparse.Namespace) -> dict[str, Any]:
    if args.command != "down":
        return {}
    return {
        "environment": args.environment,
        "log_analytics": args.log_analytics,
        "storage_account": args.storage_account,
        "file_share": args.file_share,
    }


async def _run_command(args: argparse.Namespace, progress: ConsoleProgress, cancel: CancellationToken) -> int:
    from aitk_inference.core.azure.clients import default_credential
    from aitk_inference.core.azure.cloud_metadata import resolve_cloud
    from aitk_inference.core.operations import OPERATIONS, OperationInput

    supplied_key = _supplied_api_key(args)
    cloud = await resolve_cloud(args.cloud, args.arm_endpoint)
    credential = default_credential(cloud)
    try:
        outcome = await OPERATIONS[args.command].run(
            OperationInput(
                project=args.project,
                credential=credential,
                cloud=cloud,
                progress=progress,
                prompter=_prompter(args),
                cancel=cancel,
                subscription_id=getattr(args, "subscription", None),
                resource_group=getattr(args, "resource_group", None),
                location=getattr(args, "location", None),
                readiness_timeout=getattr(args, "timeout", None),
                take_over=bool(getattr(args, "take_over", False)),  # the CLI never asks: the flag decides
                lock_wait=getattr(args, "lock_wait", None),
                api_key=supplied_key,
                rotate=bool(getattr(args, "rotate", False)),
                assume_yes=bool(getattr(args, "yes", False)),
                emit=_print_line,
                follow=bool(getattr(args, "follow", False)),
                tail=getattr(args, "tail", None),
                system=bool(getattr(args, "system", False)),
                delete=_delete_options(args),
            )
        )
    finally:
        await credential.close()
    progress.close()
    if outcome.secret is not None:  # the secret alone on stdout; what it is on stderr
        for line in outcome.lines:
            print(line, file=sys.stderr)
        print(outcome.secret)
        return 0
    if getattr(args, "json", False):
        print(json.dumps(outcome.data, indent=2))
        return 0
    for line in outcome.lines:
        # Log lines own stdout; the summary of a log stream goes with the progress on stderr.
        print(line, file=sys.stderr if args.command == "logs" else sys.stdout)
    return 0


async def _with_interrupt(
    work: Callable[[CancellationToken], Awaitable[int]],
    progress: ConsoleProgress,
    notice: str = "Cancelling at the next safe point (press Ctrl-C again to stop at once)…",
) -> int:
    """First Ctrl-C cancels at the next safe point (share and config stay consistent); a second one
    stops at once."""
    cancel = CancellationToken()
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()

    def on_interrupt() -> None:
        if cancel.cancelled and task is not None:
            task.cancel()
            return
        progress.log(notice, "warning")
        cancel.cancel()

    try:
        loop.add_signal_handler(signal.SIGINT, on_interrupt)
    except (NotImplementedError, RuntimeError):  # e.g. Windows: fall back to KeyboardInterrupt
        pass
    try:
        return await work(cancel)
    finally:
        try:
            loop.remove_signal_handler(signal.SIGINT)
        except (NotImplementedError, RuntimeError):
            pass


def _serve(args: argparse.Namespace) -> int:
    import importlib

    try:
        lsp_server = importlib.import_module("aitk_inference.lsp.server")
    except ImportError as err:
        print(f"aitk-inference serve: the language server is not available ({err}).", file=sys.stderr)
        return EXIT_FAILED
    serve: Callable[[], Any] | None = getattr(lsp_server, "serve", None)
    if serve is None:
        print("aitk-inference serve: aitk_inference.lsp.server has no serve() function.", file=sys.stderr)
        return EXIT_FAILED
    serve()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    progress = ConsoleProgress(debug=args.debug)
    started = time.monotonic()
    try:

        def work(cancel: CancellationToken) -> Awaitable[int]:
            return _run_command(args, progress, cancel)

        if args.command == "logs":  # Ctrl-C is how a followed stream normally ends
            rc = asyncio.run(_with_interrupt(work, progress, "Stopping the log stream…"))
        else:
            rc = asyncio.run(_with_interrupt(work, progress))
    except OperationCancelled as err:
        progress.close()
        print(f"aitk-inference {args.command}: {err}", file=sys.stderr)
        return EXIT_CANCELLED
    except (KeyboardInterrupt, asyncio.CancelledError):
        progress.close()
        print(f"aitk-inference {args.command}: interrupted.", file=sys.stderr)
        return EXIT_CANCELLED
    except AitkError as err:
        progress.close()
        if args.debug:
            traceback.print_exc()
        print(f"aitk-inference {args.command} failed: {err}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as err:  # a bug: still one paragraph, the traceback only under --debug
        progress.close()
        if args.debug:
            traceback.print_exc()
        print(
            f"aitk-inference {args.command} failed unexpectedly: {type(err).__name__}: {err} "
            "(run again with --debug for details).",
            file=sys.stderr,
        )
        return EXIT_FAILED
    progress.log(f"Done in {time.monotonic() - started:.1f}s.", "debug")
    return rc
