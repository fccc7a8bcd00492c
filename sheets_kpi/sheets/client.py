"""gspread wiring: service-account auth or an emulator endpoint, bounded retries, call counts."""

from __future__ import annotations

import functools
import json
import logging
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gspread
import requests
from google.auth.exceptions import RefreshError, TransportError
from gspread.exceptions import APIError

from sheets_kpi.config import GoogleConfig
from sheets_kpi.deadline import CycleDeadline, RequestDeadline
from sheets_kpi.errors import SheetsError
from sheets_kpi.retry import SHEETS_RETRY, RetryPolicy, dropped_connection_retriable, server_wait
from sheets_kpi.sheets.failures import explain, unreachable_message

log = logging.getLogger(__name__)

SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]
GOOGLE_HOSTS = ("https://sheets.googleapis.com", "https://www.googleapis.com")


class EndpointSession(requests.Session):
    """Send gspread's Google URLs to `endpoint` (the emulator); no credentials are involved."""

    def __init__(self, endpoint: str) -> None:
        super().__init__()
        self.endpoint = endpoint.rstrip("/")

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any):  # type: ignore[override]
        text = url.decode() if isinstance(url, bytes) else url
        for host in GOOGLE_HOSTS:
            if text.startswith(host):
                text = self.endpoint + text[len(host) :]
                break
        return super().request(method, text, *args, **kwargs)


class CountingHTTPClient(gspread.HTTPClient):
    """gspread's HTTP client with bounded, jittered retries and read/write request counts.

    gspread 6.2.1's BackOffHTTPClient never stops retrying; this one follows `retry` (a
    `sheets_kpi.retry.RetryPolicy`, SHEETS_RETRY by default): it gives up after `max_attempts`,
    sleeps what Retry-After says (at most MAX_SERVER_WAIT) or a backoff, and retries a dropped
    connection only for reads. Every attempt counts as a request: quota sees them all. gspread
    builds the client, so `sleep` and `rng` are class attributes tests can replace. Each
    attempt must be answered within `timeout` seconds (`RequestDeadline`); a `cycle`
    deadline, when given, is checked before each attempt.
    """

    sleep = staticmethod(time.sleep)
    rng = random.Random()

    def __init__(
        self,
        auth: Any,
        session: requests.Session | None = None,
        *,
        retry: RetryPolicy = SHEETS_RETRY,
        timeout: float = 120,
        cycle: CycleDeadline | None = None,
    ) -> None:
        super().__init__(auth, session)
        RequestDeadline(timeout, "Google Sheets").install(self.session)
        self.retry = retry
        self.cycle = cycle
        self.reads = 0
        self.writes = 0

    def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any):  # type: ignore[override]
        reading = method.upper() == "GET"
        for attempt in range(1, self.retry.max_attempts + 1):
            if self.cycle is not None:
                self.cycle.check("Google Sheets")
            if reading:
                self.reads += 1
            else:
                self.writes += 1
            try:
                return super().request(method, endpoint, *args, **kwargs)
            except APIError as err:
                code = err.code if isinstance(err.code, int) else -1
                if not self.retry.retriable(code) or self.retry.exhausted(attempt):
                    raise
                retry_after = err.response.headers.get("Retry-After")
                wait, reason = server_wait(retry_after, now=time.time()), f"HTTP {code}"
            except (requests.ConnectionError, requests.Timeout) as err:
                stuck = unreachable_message(err, getattr(err.request, "url", None) or endpoint)
                if stuck:  # the same answer on every retry: say so now
                    raise SheetsError(stuck) from None
                if not dropped_connection_retriable(method) or self.retry.exhausted(attempt):
                    raise
                wait, reason = None, type(err).__name__
            except RefreshError as err:
                raise SheetsError(
                    f"Google rejected the service-account key ({err}): the key may have been "
                    "deleted or the account disabled; create a new JSON key and point "
                    "google.credentials at it"
                ) from err
            except TransportError as err:
                raise SheetsError(f"cannot reach Google to sign in ({err})") from err
            delay = self.retry.delay(attempt - 1, self.rng, wait)
            log.warning("Google Sheets %s; retry %d in %.1f s", reason, attempt, delay)
            self.sleep(delay)
        raise AssertionError("unreachable")


def make_client(
    google: GoogleConfig,
    *,
    retry: RetryPolicy = SHEETS_RETRY,
    scopes: Sequence[str] = SCOPES,
    cycle: CycleDeadline | None = None,
) -> gspread.Client:
    """An emulator client when `google.endpoint` is set, else service-account credentials
    (for `scopes`: only `init --personal` asks for more than SCOPES).

    The client's `http_client` is a CountingHTTPClient (retries, `reads`/`writes` counters,
    `google.timeout_seconds` per request, the `cycle` deadline of `serve`).
    """
    http_client = functools.partial(
        CountingHTTPClient, retry=retry, timeout=google.timeout_seconds, cycle=cycle
    )
    if google.endpoint:
        client = gspread.Client(
            auth=None,
            session=EndpointSession(google.endpoint),
            http_client=http_client,  # type: ignore[arg-type]
        )
    else:
        client = gspread.Client(
            auth=_credentials(Path(google.credentials), scopes),
            http_client=http_client,  # type: ignore[arg-type]
        )
    client.set_timeout((10, google.timeout_seconds))
    return client


def _credentials(path: Path, scopes: Sequence[str] = SCOPES) -> Any:
    from google.oauth2.service_account import Credentials

    if not path.is_file():
        raise SheetsError(
            f"google.credentials: {path} does not exist. Create a service account (Google Cloud "
            "console → IAM & Admin → Service accounts → Create; enable the Google Sheets API), "
            "add a JSON key (Keys → Add key → JSON), save it as this file, and share the "
            "spreadsheet with the key's client_email as Editor"
        )
    try:
        return Credentials.from_service_account_file(str(path), scopes=list(scopes))
    except (OSError, ValueError, KeyError) as err:
        raise SheetsError(
            f"google.credentials: {path} is not a service-account JSON key ({err}); download "
            "a new one (Service accounts → Keys → Add key → JSON)"
        ) from err


def service_account_email(google: GoogleConfig) -> str:
    """The identity that must have edit access (and is kept as a protected-range editor)."""
    if google.endpoint:
        return "sheets-kpi@emulator.iam.gserviceaccount.com"
    try:
        return json.loads(Path(google.credentials).read_text(encoding="utf-8"))["client_email"]
    except (OSError, ValueError, KeyError):
        return ""


def open_spreadsheet(google: GoogleConfig, client: gspread.Client | None = None):
    """Open by id with one metadata read, turning 403/404 into what-to-do messages."""
    client = client or make_client(google)
    try:
        return client.open_by_key(google.spreadsheet_id)
    except gspread.exceptions.SpreadsheetNotFound as err:
        raise SheetsError(
            f"spreadsheet {google.spreadsheet_id!r} was not found: check google.spreadsheet "
            "(the id is the part of the URL after /d/)"
        ) from err
    except (PermissionError, APIError) as err:  # gspread raises a 403 as PermissionError
        cause = err if isinstance(err, APIError) else err.__cause__
        if not isinstance(cause, APIError):
            raise
        raise SheetsError(
            explain(cause, google.spreadsheet_id, service_account_email(google))
        ) from err
    except requests.RequestException as err:
        raise SheetsError(f"cannot reach Google Sheets ({err}); the next cycle retries") from err
