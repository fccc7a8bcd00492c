"""What a Google Sheets failure means for the person who set the tool up, in one sentence each.

Google answers 403 both for a spreadsheet not shared with the service account and for a project
where the Google Sheets API was never enabled; only the body tells them apart (an ErrorInfo
detail with reason SERVICE_DISABLED, or in older bodies an `errors` entry accessNotConfigured).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests
from gspread.exceptions import APIError

from sheets_kpi.retry import unreachable

DISABLED_REASONS = frozenset({"SERVICE_DISABLED", "accessNotConfigured"})


def _reasons(error: dict[str, Any]) -> set[str]:
    found = {str(d.get("reason")) for d in error.get("details") or [] if isinstance(d, dict)}
    found |= {str(e.get("reason")) for e in error.get("errors") or [] if isinstance(e, dict)}
    return found


def disabled_api(err: APIError) -> str | None:
    """The page where the API is enabled, when a 403 says the Sheets API is off; else None."""
    error = err.error if isinstance(err.error, dict) else {}
    if err.code != 403 or not (_reasons(error) & DISABLED_REASONS):
        return None
    for detail in error.get("details") or []:
        metadata = detail.get("metadata") if isinstance(detail, dict) else None
        if isinstance(metadata, dict) and metadata.get("activationUrl"):
            return str(metadata["activationUrl"])
    return "https://console.cloud.google.com/apis/library/sheets.googleapis.com"


def explain(err: APIError, spreadsheet_id: str, service_account: str) -> str:
    """An API error as what is wrong and what to do; never gspread's `APIError: [code]: …`."""
    code = err.code
    activation = disabled_api(err)
    if activation:
        return (
            "the Google Sheets API is not enabled in the service account's Google Cloud "
            f"project: enable it at {activation}, wait a few minutes, and try again"
        )
    if code == 404:
        return (
            f"spreadsheet {spreadsheet_id!r} was not found: check google.spreadsheet "
            "(the id is the part of the URL after /d/)"
        )
    if code == 403:
        who = service_account or "the client_email of the service-account key"
        return f"no access to spreadsheet {spreadsheet_id!r}: share it as Editor with {who}"
    if code == 401:
        return (
            "Google Sheets did not accept the credentials (HTTP 401): check that "
            "google.credentials is a current service-account key, not a deleted one"
        )
    if code == 429:
        return "Google Sheets quota exhausted after retries; the next cycle writes again"
    message = err.error.get("message", "") if isinstance(err.error, dict) else ""
    return f"Google Sheets answered HTTP {code}: {message or 'no message'}"


def unreachable_message(err: Exception, url: str) -> str | None:
    """What to do when the Sheets host does not resolve or refuses connections (the same
    answer on every retry); None for anything worth retrying."""
    why = unreachable(err) if isinstance(err, requests.ConnectionError) else None
    if why is None:
        return None
    host = urlsplit(url).netloc or url
    where = (
        "the machine's DNS and network (or a proxy in between)"
        if host.endswith("googleapis.com")
        else "google.endpoint"
    )
    if why == "dns":
        return f"cannot reach Google Sheets: the host {host} does not resolve (DNS); check {where}"
    return f"cannot reach Google Sheets: {host} refused the connection; check {where}"
