"""The exception tree: every error the tool raises says what is wrong and what to do."""

from __future__ import annotations


class SheetsKpiError(Exception):
    """Root of every error the tool raises on purpose."""


class ConfigError(SheetsKpiError):
    """The configuration cannot be used; the CLI exits with code 2."""


class UsageError(SheetsKpiError):
    """A command-line argument cannot be used (an unwritable --out, say); the CLI exits with 2."""


class SourceError(SheetsKpiError):
    """amoCRM could not be read."""


class RetriableSourceError(SourceError):
    """A temporary amoCRM failure (429, 5xx, connection) that outlived the retries."""


class FatalSourceError(SourceError):
    """An amoCRM failure that retrying cannot fix (auth, blocked account, bad request)."""


class AuthError(FatalSourceError):
    """amoCRM refused the credentials; the message says how to re-authorise."""


class SheetsError(SheetsKpiError):
    """Google Sheets could not be read or written."""


class StoreError(SheetsKpiError):
    """The local store is unusable."""


class Stopped(SheetsKpiError):
    """SIGTERM / SIGINT asked for a stop: the work done so far is kept, nothing half-written."""
