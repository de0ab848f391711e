"""``python -m tests.azure_emulator [--port N] [--data DIR]``: print one JSON line, serve until killed."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from pathlib import Path

from tests.azure_emulator.server import serve_forever


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.azure_emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="ARM port (default: any free port)")
    parser.add_argument("--data", type=Path, default=None, help="state folder (default: a temporary one)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(args.data, args.port))


if __name__ == "__main__":
    main()
