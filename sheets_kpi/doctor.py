"""`sheets-kpi doctor`: each check prints one line, and a failing one says what to do.

A check that needs one which failed (or a placeholder still in the config) is skipped with the
reason instead of asking a host that cannot answer: with amoCRM or Google down the whole doctor
takes a few seconds, one request per unreachable host, never a retry.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from sheets_kpi.config import Config, StageRef, load_config
from sheets_kpi.errors import SheetsKpiError
from sheets_kpi.kpi.periods import Period, today

#: Doctor asks each host once and waits this long at most: a diagnosis, not a sync.
DOCTOR_TIMEOUT = 5.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    skipped: bool = False

    def line(self) -> str:
        mark = "skip" if self.skipped else "ok  " if self.ok else "FAIL"
        return f"{mark} {self.name:<12} {self.detail}"


class Skip(Exception):
    """A check that cannot run yet; the message says what to fix first."""


def run_checks(config_path: str | Path, now: datetime) -> list[Check]:
    """Stop after the config check fails: nothing else can be checked without it."""
    try:
        config = load_config(config_path)
    except SheetsKpiError as err:
        return [Check("config", False, f"{err}")]
    doctor = Doctor(config)
    checks = [
        Check("config", True, f"{config_path} is valid"),
        _clock(config, now),
        _placeholder_check(doctor.left),
    ]
    done: dict[str, Check] = {}
    for name, needs, probe in doctor.probes():
        blocked = next((done[n] for n in needs if not done[n].ok), None)
        if blocked:
            why = "was skipped" if blocked.skipped else "failed"
            check = Check(name, False, f"not checked: {blocked.name} {why}", skipped=True)
        else:
            check = _probe(name, probe)
        done[name] = check
        checks.append(check)
    return checks


def _probe(name: str, probe: Callable[[], str]) -> Check:
    try:
        return Check(name, True, probe())
    except Skip as err:
        return Check(name, False, str(err), skipped=True)
    except SheetsKpiError as err:
        return Check(name, False, str(err))
    except Exception as err:  # doctor reports anything unexpected as a failure
        return Check(name, False, f"{type(err).__name__}: {err}")


def _clock(config: Config, now: datetime) -> Check:
    """The instant and plan month a cycle would compute at (with `--now`, the chosen one)."""
    period = Period.of(today(pd.Timestamp(now), config.timezone))
    local = now.astimezone(config.zone)
    return Check(
        "clock",
        True,
        f"{local:%Y-%m-%d %H:%M} {config.timezone}: period {period.label}, "
        f"day {period.elapsed_days} of {period.days}",
    )


#: The examples the shipped config.yaml holds: (yaml path, example, what to put instead).
PLACEHOLDERS = (
    ("amocrm.base_url", "example.amocrm.ru", "your account's address, https://SUBDOMAIN.amocrm.ru"),
    ("google.spreadsheet", "sheets-kpi-demo", "your spreadsheet's URL or id"),
    ("google.supervisors", "boss@example.com", "the emails of the people who edit the inputs"),
)


def placeholders(config: Config) -> dict[str, str]:
    """Yaml path → the shipped example still in it. The Google ones only count for the real
    Google (`google.endpoint` unset): against an emulator any id will do."""
    values = {
        "amocrm.base_url": config.amocrm.base_url,
        "google.spreadsheet": config.google.spreadsheet_id,
        "google.supervisors": " ".join(config.google.supervisors),
    }
    left = {}
    for key, example, _ in PLACEHOLDERS:
        if key.startswith("google.") and config.google.endpoint:
            continue
        if example in values[key]:
            left[key] = example
    return left


def _placeholder_check(left: dict[str, str]) -> Check:
    if not left:
        return Check("placeholders", True, "none of the shipped examples is left in the config")
    instead = {key: what for key, _, what in PLACEHOLDERS}
    return Check(
        "placeholders",
        False,
        "still the shipped examples: "
        + "; ".join(f"{key} is {example}: set {instead[key]}" for key, example in left.items()),
    )


Probe = tuple[str, tuple[str, ...], Callable[[], str]]


class Doctor:
    """The probes and what they share: one amoCRM client, one opened spreadsheet, and the
    amoCRM dictionaries read once for the stage, pipeline, field and metric checks."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.left = placeholders(config)
        self._client: Any = None
        self._spreadsheet: Any = None
        self._statuses: pd.DataFrame | None = None

    def probes(self) -> Iterable[Probe]:
        yield "store", (), self.store
        yield "amoCRM", (), self.amocrm
        yield "amoCRM users", ("amoCRM",), self.amocrm_users
        yield "stages", ("amoCRM",), self.stages
        yield "pipelines", ("amoCRM",), self.pipelines
        yield "fields", ("amoCRM",), self.fields
        yield "metrics", ("amoCRM",), self.metrics
        if not self.config.google.endpoint:
            yield "credentials", (), self.credentials
        placeholder = "google.spreadsheet" in self.left  # said before a failed key
        google = () if self.config.google.endpoint or placeholder else ("credentials",)
        yield "spreadsheet", google, self.spreadsheet
        yield "editor", ("spreadsheet",), self.editor
        yield "input tabs", ("spreadsheet",), self.input_tabs
        if self.config.google.data_spreadsheet:
            yield "data spreadsheet", ("spreadsheet",), self.data_spreadsheet

    # local -------------------------------------------------------------------------------

    def store(self) -> str:
        """Looks without creating: a store that does not exist yet stays so, and one that does
        is neither migrated nor written (`sync` and `run` do that)."""
        from sheets_kpi.store.db import schema_version
        from sheets_kpi.store.schema import MIGRATIONS

        path = Path(self.config.store).absolute()
        if not path.exists():
            folder = next(p for p in path.parents if p.exists())
            if not (folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)):
                raise SheetsKpiError(
                    f"{folder} is not a folder the store {path.name} can be created in: give "
                    "the worker's user write access there or change `store` in the config"
                )
            made = "" if folder == path.parent else f" and its folder {path.parent}"
            return f"{path} does not exist yet: the first `sync` or `run` creates it{made}"
        version = schema_version(path)
        for place in (path, path.parent):  # SQLite writes its -wal and -shm files beside it
            if not os.access(place, os.W_OK):
                raise SheetsKpiError(
                    f"{place} is not writable: give the worker's user write access"
                )
        if version < len(MIGRATIONS):
            return (
                f"{path} opens and is writable; the next `sync` or `run` updates its schema "
                f"({version} → {len(MIGRATIONS)})"
            )
        return f"{path} opens and is writable"

    # amoCRM ------------------------------------------------------------------------------

    def client(self) -> Any:
        if self._client is None:
            from sheets_kpi.sources.amocrm import make_client

            quick = self.config.amocrm.model_copy(
                update={"max_retries": 0, "timeout_seconds": DOCTOR_TIMEOUT}
            )
            self._client = make_client(quick)
        return self._client

    def amocrm(self) -> str:
        if "amocrm.base_url" in self.left:  # a made-up host: not worth a request
            raise Skip("not checked: set amocrm.base_url first (it is the shipped example)")
        account = self.client().get("/api/v4/account") or {}
        return f"{self.config.amocrm.base_url} answers; account {account.get('name', '?')!r}"

    def amocrm_users(self) -> str:
        payload = self.client().get("/api/v4/users", [("limit", "1")]) or {}
        count = len((payload.get("_embedded") or {}).get("users") or [])
        return f"the token may list users ({count} on the first page)"

    def statuses(self) -> pd.DataFrame:
        """Every pipeline's statuses, as the KPI engine's `statuses` frame."""
        if self._statuses is None:
            from sheets_kpi.sources.amocrm.client import embedded

            payload = self.client().get("/api/v4/leads/pipelines")
            rows = [
                {
                    "pipeline_id": int(p["id"]),
                    "pipeline_name": str(p.get("name", "")),
                    "status_id": int(s["id"]),
                    "status_name": str(s.get("name", "")),
                }
                for p in embedded(payload, "pipelines")
                for s in embedded(p, "statuses")
            ]
            columns = ["pipeline_id", "pipeline_name", "status_id", "status_name"]
            self._statuses = pd.DataFrame(rows, columns=columns)
        return self._statuses

    def stages(self) -> str:
        from sheets_kpi.kpi.stages import unresolved

        config, statuses = self.config, self.statuses()
        refs: dict[str, list[StageRef]] = {
            f"amocrm.stages.{key}": list(names) for key, names in config.amocrm.stages.items()
        }
        refs |= {
            f"rules.required_fields[{stage!r}]": [stage] for stage in config.rules.required_fields
        }
        refs["rules.zero_price_after"] = list(config.rules.zero_price_after)
        names = sorted(set(statuses["status_name"]))
        missing = [
            f"{where}: {ref} {_closest(ref, names)}"
            for where, stage_refs in refs.items()
            for ref in unresolved(stage_refs, statuses)
        ]
        if missing:
            raise SheetsKpiError(
                "no such status in any amoCRM pipeline (their KPIs and rules would count "
                "nothing; write the names as amoCRM shows them): " + "; ".join(missing)
            )
        count = sum(len(r) for r in refs.values())
        return f"all {count} configured stage references exist in amoCRM"

    def pipelines(self) -> str:
        from sheets_kpi.kpi.stages import pipelines

        statuses = self.statuses()
        names = sorted(set(statuses["pipeline_name"]))
        wanted = self.config.amocrm.upsell.pipelines
        missing = [
            f"{ref} {_closest(str(ref), names)}" for ref in wanted if not pipelines([ref], statuses)
        ]
        if missing:
            raise SheetsKpiError(
                "amocrm.upsell.pipelines: no such amoCRM pipeline: " + "; ".join(missing)
            )
        if not wanted:
            return f"no pipeline filter configured; amoCRM has {len(names)} pipeline(s)"
        return f"the {len(wanted)} upsell pipeline(s) exist in amoCRM"

    def fields(self) -> str:
        required = self.config.rules.required_fields
        wanted = sorted({str(f) for fields in required.values() for f in fields})
        if not wanted:
            return "no required fields configured"
        known: dict[str, str] = {}
        for page in self.client().pages("/api/v4/leads/custom_fields", "custom_fields", []):
            for field in page:
                name = str(field.get("name", ""))
                known[name.strip().casefold()] = name
                known[str(field.get("id"))] = name
        shown = sorted(set(known.values()))
        missing = [
            f"{name} {_closest(name, shown)}"
            for name in wanted
            if name.strip().casefold() not in known
        ]
        if missing:
            raise SheetsKpiError(
                "rules.required_fields: no such custom field on amoCRM leads: " + "; ".join(missing)
            )
        return f"the {len(wanted)} required field(s) exist on amoCRM leads"

    def metrics(self) -> str:
        """The arguments config validation cannot know: pipeline ids, the upsell filter, and
        stage keys whose stages amoCRM lacks."""
        kpis = [(dept.id, kpi) for dept in self.config.departments for kpi in dept.kpis]
        problems = [
            f"departments.{dept}.kpis.{kpi.id}: {kpi.metric} {problem}"
            for dept, kpi in kpis
            if (problem := self._metric_problem(kpi.metric_name, kpi.metric_arg))
        ]
        if problems:
            raise SheetsKpiError("these KPIs would count nothing: " + "; ".join(problems))
        return f"all {len(kpis)} KPI metrics can be computed from this account"

    def _metric_problem(self, name: str, arg: str | None) -> str | None:
        from sheets_kpi.kpi.stages import resolve

        config, statuses = self.config, self.statuses()
        if name in ("won_amount", "won_count") and arg == "upsell":
            return None if config.amocrm.upsell.pipelines else "needs amocrm.upsell.pipelines"
        if name in ("won_amount", "won_count") and arg is not None:
            ids = sorted(set(statuses["pipeline_id"]))
            if arg.isdigit() and int(arg) in ids:
                return None
            return f"filters by upsell or a pipeline id ({', '.join(map(str, ids)) or 'none'})"
        if name == "stage_reached" and arg is not None:
            if resolve(list(config.amocrm.stages[arg]), statuses):
                return None
            return f"counts amocrm.stages.{arg}, which matches no status"
        return None

    # Google ------------------------------------------------------------------------------

    def credentials(self) -> str:
        path = Path(self.config.google.credentials)
        if not path.exists():
            raise SheetsKpiError(
                f"{path} does not exist: create a service-account JSON key in Google Cloud "
                "Console (README, Real setup step 2) and save it there"
            )
        try:
            key = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as err:
            raise SheetsKpiError(
                f"{path} is not valid JSON ({err}): download the key again"
            ) from err
        if (
            not isinstance(key, dict)
            or key.get("type") != "service_account"
            or "client_email" not in key
        ):
            raise SheetsKpiError(
                f"{path} is not a service-account key (type must be service_account)"
            )
        if (
            "REPLACE_WITH" in str(key.get("private_key"))
            or "your-project-id" in key["client_email"]
        ):
            raise SheetsKpiError(
                f"{path} is a copy of credentials.example.json, not a real key: create a "
                "service-account JSON key in Google Cloud Console (README, Real setup step 2)"
            )
        return f"service account {key['client_email']} (share the spreadsheet with it)"

    def spreadsheet(self) -> str:
        if "google.spreadsheet" in self.left:
            raise Skip("not checked: set google.spreadsheet first (it is the shipped example)")
        self._spreadsheet = self._open(self.config.google)
        return f"{self._spreadsheet.title!r} opens"

    def data_spreadsheet(self) -> str:
        """`google.data_spreadsheet` needs the same share as the main one."""
        google = self.config.google
        book = self._open(google.model_copy(update={"spreadsheet": google.data_spreadsheet}))
        return f"{book.title!r} opens"

    def _open(self, google: Any) -> Any:
        from sheets_kpi.retry import SHEETS_RETRY
        from sheets_kpi.sheets.client import make_client, open_spreadsheet

        client = make_client(google, retry=dataclasses.replace(SHEETS_RETRY, max_attempts=1))
        client.set_timeout(DOCTOR_TIMEOUT)
        return open_spreadsheet(google, client)

    def editor(self) -> str:
        """One no-op write (the title set to itself): a Viewer share reads fine and fails
        every write, and only a write can tell."""
        from gspread.exceptions import APIError

        from sheets_kpi.sheets.client import service_account_email
        from sheets_kpi.sheets.failures import disabled_api, explain

        book = self._spreadsheet
        who = service_account_email(self.config.google) or "the service account"
        try:
            book.batch_update(
                {
                    "requests": [
                        {
                            "updateSpreadsheetProperties": {
                                "properties": {"title": book.title},
                                "fields": "title",
                            }
                        }
                    ]
                }
            )
        except APIError as err:
            if err.code == 403 and not disabled_api(err):
                raise SheetsKpiError(
                    f"{who} may read the spreadsheet but not edit it (Viewer): share it with "
                    f"{who} as Editor"
                ) from err
            raise SheetsKpiError(explain(err, book.id, who)) from err
        return f"{who} may edit the spreadsheet"

    def input_tabs(self) -> str:
        from sheets_kpi.sheets.input_tabs import TABS, find_title

        titles = [ws.title for ws in self._spreadsheet.worksheets()]
        missing = [spec.title(self.config.locale) for spec in TABS if not find_title(spec, titles)]
        if missing:
            raise SheetsKpiError(
                f"no input tab {', '.join(missing)}: run `sheets-kpi init` (it adds them and "
                "leaves existing tabs alone)"
            )
        return f"all {len(TABS)} input tabs are there ({len(titles)} tabs in all)"


def _closest(name: str, known: list[str]) -> str:
    """The names amoCRM has that look most like `name`, for a typo found by eye."""
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    if not close:
        close = known[:5]
        return f"(amoCRM has: {', '.join(close)})" if close else "(amoCRM has none)"
    return f"(closest: {', '.join(close)})"
