"""Logging setup: readable lines or JSON, with tokens and secrets redacted from every record."""

from __future__ import annotations

import json
import logging
import sys
from typing import TextIO

from sheets_kpi.redaction import redact

__all__ = ["redact", "setup_logging"]


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        if record.exc_info and not record.exc_text:  # the formatter keeps a text set here
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            payload["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the moment of each record, not the one at setup:
    a test runner swaps it per test and closes the old one."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        """StreamHandler sets a stream when built; the current stderr is used instead."""


def setup_logging(as_json: bool = False, verbose: bool = False) -> None:
    handler = _StderrHandler()
    handler.addFilter(_RedactingFilter())
    handler.setFormatter(
        _JsonFormatter() if as_json else logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("urllib3", "google", "gspread"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
