"""Command-line entry point: parse arguments, build dependencies, map errors to exit codes."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("sheets-kpi: not implemented yet", file=sys.stderr)
    return 1
