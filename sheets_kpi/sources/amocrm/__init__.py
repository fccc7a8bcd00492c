"""amoCRM source: API client and incremental sync into the store."""

from __future__ import annotations

import dataclasses

import requests

from sheets_kpi.config import AmoConfig
from sheets_kpi.deadline import CycleDeadline
from sheets_kpi.retry import AMOCRM_RETRY
from sheets_kpi.sources.amocrm.auth import make_auth
from sheets_kpi.sources.amocrm.client import AmoClient


def make_client(
    settings: AmoConfig,
    session: requests.Session | None = None,
    cycle: CycleDeadline | None = None,
) -> AmoClient:
    """The client the config describes, sharing one session between API calls and token refresh
    (so `timeout_seconds` bounds both); `cycle` is the deadline of a `serve` cycle."""
    session = session or requests.Session()
    return AmoClient(
        settings.base_url,
        make_auth(settings.base_url, settings.auth, session),
        session=session,
        requests_per_second=settings.requests_per_second,
        retry=dataclasses.replace(AMOCRM_RETRY, max_attempts=settings.max_retries + 1),
        timeout=settings.timeout_seconds,
        cycle=cycle,
    )
