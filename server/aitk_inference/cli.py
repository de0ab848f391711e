"""Command-line interface (thin layer over ``aitk_inference.core``)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("aitk-inference: not implemented yet", file=sys.stderr)
    return 2
