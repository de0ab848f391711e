"""``python -m tests.azure_emulator [--port N] [--data DIR] [--runtime quickstart|process [--python PY]]``:
print one JSON line, serve until killed.

``--runtime process`` runs each app revision's container command as a real local process (see
``runtime_process.py``), with ``--python`` standing in for the container image's interpreter.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from pathlib import Path
from typing import Any

from tests.azure_emulator.server import serve_forever


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.azure_emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="ARM port (default: any free port)")
    parser.add_argument("--data", type=Path, default=None, help="state folder (default: a temporary one)")
    parser.add_argument(
        "--runtime",
        choices=("quickstart", "process"),
        default="quickstart",
        help="what answers behind an app's ingress: ACA's quickstart image (default) or the container "
        "command run as a local process",
    )
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="process runtime: the interpreter that stands in for the image (needs the app's requirements)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    factory: Any = None
    if args.runtime == "process":
        from tests.azure_emulator.runtime_process import ProcessRuntime

        factory = ProcessRuntime.factory(python=args.python)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(args.data, args.port, factory))


if __name__ == "__main__":
    main()
