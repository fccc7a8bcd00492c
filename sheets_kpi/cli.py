"""Command-line entry point: parse arguments, build dependencies, map errors to exit codes."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NoReturn

from sheets_kpi.clock import EXAMPLE, epoch, parse_instant, wall_clock
from sheets_kpi.config import Config, load_config
from sheets_kpi.errors import ConfigError, SheetsKpiError, UsageError
from sheets_kpi.logs import setup_logging
from sheets_kpi.redaction import redact

log = logging.getLogger(__name__)

Command = Callable[[argparse.Namespace], int]

#: With `--log-json` every line a command would print is a JSON log record instead.
_as_json = False


def _say(text: str, err: bool = False) -> None:
    """What a command tells the user: a printed line (results on stdout, problems on stderr), or
    with `--log-json` a log record (info or error) in the one JSON stream on stderr."""
    if _as_json:
        logging.getLogger("sheets_kpi.cli").log(logging.ERROR if err else logging.INFO, text)
    else:
        print(text, file=sys.stderr if err else sys.stdout, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    global _as_json
    _as_json = bool(args.log_json)
    setup_logging(as_json=_as_json, verbose=args.verbose)
    refused = _refuses_now(args)
    if refused:
        _say(f"sheets-kpi: --now is not for {refused}", err=True)
        return 2
    args.pinned = args.now is not None
    if args.now is None:
        args.now = wall_clock()  # the one reading of the wall clock for this command
    try:
        return int(args.run(args))
    except ConfigError as err:
        _say(f"sheets-kpi: config error: {redact(str(err))}", err=True)
        return 2
    except UsageError as err:
        _say(f"sheets-kpi: {redact(str(err))}", err=True)
        return 2
    except SheetsKpiError as err:
        _say(f"sheets-kpi: {redact(str(err))}", err=True)
        return 1
    except OSError as err:  # a file the user named cannot be read or written: a line, no trace
        _say(f"sheets-kpi: {redact(str(err))}", err=True)
        return 1
    except KeyboardInterrupt:
        return 130


#: Commands that work on the real clock only, and why `--now` cannot move them.
REAL_CLOCK_ONLY = {
    "serve": "serve: the worker runs on the wall clock; use `sheets-kpi run --now …` for one "
    "cycle at a chosen instant",
    "auth": "auth: amoCRM's codes and tokens expire on its real clock",
    "sheets": "emulate sheets: the Sheets emulator has no clock",
    "tv": "tv: the page shows what the last cycle computed, at that cycle's time",
}


def _refuses_now(args: argparse.Namespace) -> str | None:
    if args.now is None:
        return None
    return REAL_CLOCK_ONLY.get(getattr(args, "service", None) or args.command)


def _instant(text: str) -> datetime:
    try:
        return parse_instant(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


#: Where the config is looked for when `--config` is not given.
DEFAULT_CONFIG = "config.yaml"


def _config_path(args: argparse.Namespace) -> str:
    if args.config is None and not Path(DEFAULT_CONFIG).exists():
        raise ConfigError(
            f"no {DEFAULT_CONFIG} in {Path.cwd()}: write a starting one with "
            "`sheets-kpi init-config`, or name one with --config PATH"
        )
    return args.config or DEFAULT_CONFIG


def _config(args: argparse.Namespace) -> Config:
    return load_config(_config_path(args))


class _UnsetAsPlaceholder(dict[str, str]):
    """The environment, with each unset `${NAME}` left as written: for a command that reads only
    the store (`status`), the amoCRM token and secrets are never needed."""

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> str:
        return "${" + key + "}"


def _lock(config: Config):
    """One writer per store: `sync`, `run` and `serve` refuse to overlap."""
    from sheets_kpi.worker import WorkerLock

    return WorkerLock(Path(str(config.store) + ".lock"))


def cmd_sync(args: argparse.Namespace) -> int:
    from sheets_kpi.sources.amocrm import make_client
    from sheets_kpi.sources.amocrm.sync import sync
    from sheets_kpi.store.db import Store

    config = _config(args)
    with _lock(config):
        client = make_client(config.amocrm)
        with Store(config.store) as store:
            report = sync(client, store, config.amocrm, args.now, progress=_progress(after=0))
    _say(report.summary())
    return 0


def cmd_auth(args: argparse.Namespace) -> int:
    import secrets

    import requests

    from sheets_kpi.sources.amocrm.auth import OAuth2

    config = _config(args)
    oauth = config.amocrm.auth.oauth
    if oauth is None:
        _say("amocrm.auth uses a long-lived token: nothing to authorise")
        return 0
    code = args.code
    if not code:
        _say(
            "Open this link as an amoCRM administrator, allow access, and copy the `code` "
            "parameter of the page you are redirected to (valid for 20 minutes):\n"
            f"  {consent_url(config.amocrm.base_url)}?client_id={oauth.client_id}"
            f"&state={secrets.token_urlsafe(8)}&mode=post_message"
        )
        try:
            code = input("code: ").strip()
        except EOFError:
            code = ""
    if not code:
        _say("sheets-kpi: no code given; run `sheets-kpi auth --code CODE`", err=True)
        return 2
    OAuth2(config.amocrm.base_url, oauth, requests.Session()).exchange_code(code)
    _say(f"amoCRM tokens saved to {oauth.token_file}")
    return 0


def consent_url(base_url: str) -> str:
    """Kommo accounts (`*.kommo.com`) grant access on kommo.com, amoCRM ones on amocrm.ru."""
    from urllib.parse import urlsplit

    host = urlsplit(base_url).hostname or ""
    return (
        "https://www.kommo.com/oauth"
        if host.endswith("kommo.com")
        else "https://www.amocrm.ru/oauth"
    )


#: `run`, `serve` and `demo` show a step's progress once it has taken this long: the first
#: backfill and a slow write do, a 15-minute cycle does not.
QUIET_SECONDS = 2.0


def _progress(after: float | None = None):
    """Progress on stderr, quiet for QUIET_SECONDS unless `after` says otherwise."""
    from sheets_kpi.progress import Progress

    return Progress(sys.stderr, as_json=_as_json, after=QUIET_SECONDS if after is None else after)


def _worker_parts(config: Config, cycle=None):
    """The store and both clients; `cycle` (serve's CycleDeadline) is checked by both. The
    store is opened last, so the caller that closes it is the only one that can leak it."""
    from sheets_kpi.sheets.client import make_client as sheets_client
    from sheets_kpi.sheets.gateway import SheetsGateway
    from sheets_kpi.sources.amocrm import make_client
    from sheets_kpi.store.db import Store

    sheets = SheetsGateway(config.google, sheets_client(config.google, cycle=cycle))
    amo = make_client(config.amocrm, cycle=cycle)
    return Store(config.store), amo, sheets


def cmd_run(args: argparse.Namespace) -> int:
    from sheets_kpi.cycle import run_cycle

    config = _config(args)
    if args.period and args.reconcile:
        _say("sheets-kpi: --reconcile is for the live cycle, not with --period", err=True)
        return 2
    if args.period:
        return _recompute(config, args)
    if args.dry_run:
        _say("sheets-kpi: --dry-run goes with --period YYYY-MM", err=True)
        return 2
    with _lock(config):
        store, amo, sheets = _worker_parts(config)
        with store:
            _require_input_tabs(config, sheets)
            report = run_cycle(
                config, store, amo, sheets, args.now, reconcile=args.reconcile, progress=_progress()
            )
    _say(cycle_line(report))
    if report.error:
        _say(f"sheets-kpi: {redact(report.error)}", err=True)
    return 0 if report.status == "ok" else 1


def cycle_line(report) -> str:
    """A cycle in one line: what `run` prints and `serve` logs."""
    return (
        f"cycle {report.status} in {report.seconds:.1f} s: amoCRM {report.amocrm_requests} "
        f"requests ({report.entities_new} new, {report.entities_updated} updated), Sheets "
        f"{report.sheets_read_requests} read / {report.sheets_write_requests} write, "
        f"{report.rows_written} rows, {report.issues} data issue(s)"
        + (
            f"; nothing changed, the output of run #{report.kept_from} stands"
            if report.kept_from
            else ""
        )
    )


class NoInputTabs(SheetsKpiError):
    """The spreadsheet lacks input tabs: a cycle would sync for nothing and publish only
    data issues, so `run` refuses and `serve` waits for them."""


def _require_input_tabs(config: Config, sheets) -> None:
    """One metadata read before the sync. A spreadsheet that cannot be read is left to the
    cycle, which records that failure in the run log as it always has."""
    from sheets_kpi.sheets.input_tabs import TABS

    try:
        found = sheets.input_titles()
    except SheetsKpiError:
        return
    missing = [spec.title(config.locale) for spec in TABS if spec.key not in found]
    if missing:
        raise NoInputTabs(
            f"the spreadsheet {config.google.spreadsheet_id} has no input tab "
            f"{', '.join(missing)}: run `sheets-kpi init` first"
        )


def serve_cycle(config: Config, store, amo, sheets):
    """`serve`'s cycle: without the input tabs it says so and skips the cycle (the worker goes
    on and looks again next time), else one full cycle. What `cycle.Kept` holds (the amoCRM
    frames, the ended months, fact rows, statement lines and manager tabs) is kept between
    cycles while what it is made of stays the same."""
    from sheets_kpi.cycle import Kept, run_cycle

    progress = _progress()
    kept = Kept()

    def cycle(now: datetime, reconcile: bool, stop: threading.Event) -> bool:
        try:
            _require_input_tabs(config, sheets)
        except NoInputTabs as err:
            log.error("cycle skipped: %s; the worker checks again next cycle", err)
            return False
        report = run_cycle(
            config,
            store,
            amo,
            sheets,
            now,
            reconcile=reconcile,
            stop=stop,
            progress=progress,
            kept=kept,
        )
        log.info("%s", cycle_line(report))
        return report.synced

    return cycle


def _recompute(config: Config, args: argparse.Namespace) -> int:
    from sheets_kpi.recompute import recompute

    store, _, sheets = _worker_parts(config)
    with store:
        done = recompute(config, store, sheets, _period(args.period), args.now, args.dry_run)
    if done.differences is None:
        _say(f"{done.period} computed into the tab {done.title!r} (live tabs untouched)")
        return 0
    if not done.differences:
        _say(f"{done.period} is not approved for any department: nothing to compare")
    for department, found in done.differences.items():
        if found.empty:
            _say(f"{done.period} / {department}: the approved statement still holds")
        for row in found.itertuples():
            money = f", bonus {row.bonus_difference:+,.0f}" if row.field == "bonus" else ""
            _say(
                f"{done.period} / {department} / {row.manager} / {row.kpi_title or row.kpi}"
                f" ({row.field}): approved {row.approved}, now {row.now}{money}"
            )
    return 0


def _period(text: str) -> str:
    from sheets_kpi.sheets.parse import ParseError, period

    try:
        return period(text)
    except ParseError as err:
        raise ConfigError(f"--period / PERIOD: {err}") from None


def cmd_close(args: argparse.Namespace) -> int:
    """Approve a period: one cycle with the approval, then what came of it per department."""
    import getpass

    from sheets_kpi.closing import Approval
    from sheets_kpi.cycle import run_cycle

    config = _config(args)
    label = _period(args.period)
    known = [dept.id for dept in config.departments]
    if args.department and args.department not in known:
        raise ConfigError(f"--department {args.department!r}: expected one of {', '.join(known)}")
    who = args.by or getpass.getuser()
    with _lock(config):
        store, amo, sheets = _worker_parts(config)
        approval = Approval(label, args.department, who)
        with store:
            report = run_cycle(config, store, amo, sheets, args.now, approvals=(approval,))
            snapshots = {(s.period, s.department): s for s in store.snapshots()}
    for note in report.close_notes:
        _say(f"sheets-kpi: {redact(note)}", err=True)
    missing = 0
    for dept in [args.department] if args.department else known:
        snapshot = snapshots.get((label, dept))
        if snapshot is None:
            missing += 1
            _say(f"{label} / {dept}: not approved")
            continue
        at = datetime.fromtimestamp(snapshot.approved_at, config.zone).strftime("%Y-%m-%d %H:%M")
        fresh = f"{label} / {dept}" in report.approved
        _say(
            f"{label} / {dept}: {'approved' if fresh else 'already approved'} {at} by "
            f"{snapshot.approved_by}"
        )
    return 1 if missing or report.status != "ok" else 0


def cmd_serve(args: argparse.Namespace) -> int:
    from sheets_kpi.deadline import CycleDeadline
    from sheets_kpi.worker import Worker

    config = _config(args)
    deadline = CycleDeadline(config.schedule.cycle_deadline_seconds)
    store, amo, sheets = _worker_parts(config, deadline)
    with store:
        every = args.every_minutes or config.schedule.every_minutes
        worker = Worker(
            serve_cycle(config, store, amo, sheets),
            every_minutes=every,
            reconcile_at=config.schedule.full_recompute_at,
            zone=config.zone,
            lock=_lock(config),
            deadline=deadline,
        )
        tv = None if args.tv is None else _tv_server(config, args.tv_host, args.tv).start()
        log.info("worker started: a cycle every %g minute(s)", every)
        try:
            return worker.run()
        finally:
            if tv is not None:
                tv.stop()


def cmd_tv(args: argparse.Namespace) -> int:
    import os

    config = load_config(_config_path(args), env=_UnsetAsPlaceholder(os.environ))
    server = _tv_server(config, args.host, args.port)
    try:
        server.serve_forever()
    finally:
        server.stop()
    return 0


def _tv_server(config: Config, host: str, port: int):
    """The TV page on the snapshot the cycles write next to the store; said in one line, with
    a warning when it is open to the network."""
    from sheets_kpi.locale import label
    from sheets_kpi.tv.server import TvServer
    from sheets_kpi.tv.snapshot import SnapshotFile, snapshot_path

    path = snapshot_path(config.store)
    waiting = label(config.locale, "tv.page.waiting")
    try:
        server = TvServer(SnapshotFile(path).read, waiting, host, port)
    except OSError as err:
        reason = err.strerror or err
        raise SheetsKpiError(f"TV page: cannot listen on {host}:{port} ({reason})") from None
    _say(f"TV page on {server.url} (data: {path}; Ctrl+C to stop)")
    warning = tv_exposure(host, config.tv.show_money)
    if warning:
        _say(f"sheets-kpi: {warning}", err=True)
    return server


def tv_exposure(host: str, show_money: bool) -> str | None:
    """What a TV page open beyond this machine shows to anyone on the network; None on
    loopback."""
    import ipaddress

    try:
        if host == "localhost" or ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:  # a host name: it may well be reachable
        pass
    money = "and the money (tv.show_money)" if show_money else "but no money"
    return (
        f"the TV page listens on {host}: anyone on the network who can reach this port sees "
        f"the leaderboard, names and deals {money}, without a login; keep it to a trusted "
        "office network"
    )


def cmd_init(args: argparse.Namespace) -> int:
    from sheets_kpi.sheets.init_tabs import init_inputs
    from sheets_kpi.sources.amocrm.sync import sync_dictionaries
    from sheets_kpi.store.frames import amocrm_frames

    config = _config(args)
    if args.personal:
        return _init_personal(config)
    store, amo, sheets = _worker_parts(config)
    with store:
        sync_dictionaries(amo, store, args.now)
        report = init_inputs(sheets, config, amocrm_frames(store)["users"], args.now)
    created = ", ".join(report.created) or "none"
    added = "; ".join(f"{t}: {', '.join(c)}" for t, c in report.columns_added.items()) or "none"
    _say(
        f"input tabs created: {created}; columns added: {added}; "
        f"managers added to the roster: {report.managers_added}"
        + (f"; empty default tab removed: {', '.join(report.removed)}" if report.removed else "")
    )
    return 0


def _init_personal(config: Config) -> int:
    """`init --personal`: what was created, adopted, or is still to be created by hand."""
    from sheets_kpi.sheets.init_personal import init_personal, personal_gateway

    sheets = personal_gateway(config)
    report = init_personal(sheets, config)
    for title in report.created:
        _say(f"created and shared: {title}")
    for title in report.adopted:
        _say(f"adopted: {title}")
    if report.to_create:
        supervisors = ", ".join(config.google.supervisors) or "(none in google.supervisors)"
        _say(
            "google.personal_folder is not set, so create these spreadsheets by hand (or set "
            "it to a shared drive's folder and run this again). Share each with "
            f"{sheets.service_account or 'the service account'} as Editor, with its manager "
            f"as Viewer and with the supervisors ({supervisors}) as Editor; then run "
            "`sheets-kpi init --personal` again to write them into the roster:"
        )
        for item in report.to_create:
            _say(f"  {item.title}  (viewer: {item.email})")
    for problem in report.problems:
        _say(f"problem: {problem}", err=True)
    if not (report.created or report.adopted or report.to_create):
        _say("every roster row with an e-mail already has a personal spreadsheet")
    return 1 if report.problems else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from sheets_kpi.demo import run_demo

    config = args.config
    if config is None and Path(DEFAULT_CONFIG).exists():
        config = DEFAULT_CONFIG  # as before: the folder's own config.yaml
    # else None: the shipped default config, so the demo runs from any folder
    summary = run_demo(
        config,
        args.managers,
        args.months,
        args.cycles,
        args.out,
        args.now,
        echo=_say,
        progress=_progress(),
    )
    return 0 if all(c["status"] == "ok" for c in summary["cycles"]) else 1


def cmd_init_config(args: argparse.Namespace) -> int:
    """Write the shipped, commented starting config; never over an existing file."""
    from sheets_kpi.defaults import CONFIG_NAME, config_text

    path = Path(args.path)
    if path.is_dir():
        path = path / CONFIG_NAME
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(config_text())
    except FileExistsError:
        raise SheetsKpiError(
            f"{path} already exists: left as it is; remove it or name another path"
        ) from None
    _say(
        f"wrote {path}: set amocrm.base_url, the token (AMO_TOKEN), google.spreadsheet and "
        f"google.credentials, then run `sheets-kpi --config {path} doctor`"
    )
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    import os

    from sheets_kpi.store.db import Store

    config = load_config(_config_path(args), env=_UnsetAsPlaceholder(os.environ))
    if not Path(config.store).exists():
        _say(f"no store yet at {config.store}: run `sheets-kpi sync` or `sheets-kpi run`")
        return 0
    with Store(config.store) as store:
        _say(f"store {config.store}")
        for table, count in store.counts().items():
            _say(f"  {table:<10} {count:>9}")
        _say("cursors")
        for entity, value in store.cursors().items():
            _say(f"  {entity:<18} {_when(value, args.now)}")
        runs = store.runs(limit=10)
        _say("last runs" if runs else "no runs yet")
        for run in runs:
            seconds = (run["finished_at"] or run["started_at"]) - run["started_at"]
            _say(
                f"  #{run['id']} {_when(run['started_at'], args.now)} {run['status']:<7} "
                f"{seconds:>4}s "
                f"amoCRM {run['amocrm_requests']} req, Sheets {run['sheets_read_requests']}r/"
                f"{run['sheets_write_requests']}w, issues {run['issues']}"
                + (f", error: {redact(run['error'])}" if run["error"] else "")  # old rows too
            )
        snapshots = store.snapshots()
        _say("approved statements" if snapshots else "no approved statements yet")
        for snapshot in snapshots:
            _say(
                f"  {snapshot.period} {snapshot.department:<12} "
                f"{_when(snapshot.approved_at, args.now)} by {snapshot.approved_by}"
            )
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from sheets_kpi.doctor import Check, run_checks

    try:
        path = _config_path(args)
    except ConfigError as err:
        _say(Check("config", False, str(err)).line())
        return 1
    checks = run_checks(path, args.now)
    for check in checks:
        _say(redact(check.line()))
    return 0 if all(check.ok for check in checks) else 1


def _when(timestamp: int | None, now: datetime) -> str:
    """A stored stamp in UTC, with how long before `now` it was."""
    if timestamp is None:
        return "-"
    at = datetime.fromtimestamp(timestamp, UTC)
    return f"{at:%Y-%m-%d %H:%M:%S} UTC ({_age(now - at)})"


def _age(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 0:
        return f"{_age(-delta).removesuffix(' ago')} after --now"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def cmd_emulate(args: argparse.Namespace) -> int:
    if args.service == "amocrm":
        from sheets_kpi.emulators.amocrm import Faults, load_or_generate, serve

        state = load_or_generate(args.data, args.managers, args.months, args.seed, args.now)
        if args.pinned:
            state.set_now(epoch(args.now))
        try:
            faults = Faults.parse(args.faults, seed=args.seed)
        except ValueError as err:
            raise ConfigError(f"--faults: {err}") from err
        server = serve(
            state,
            port=args.port,
            rps=args.rps,
            faults=faults,
            live_every_seconds=5 if args.live else None,
        )
    else:
        from sheets_kpi.emulators.sheets import SheetsState
        from sheets_kpi.emulators.sheets import serve as serve_sheets

        state = SheetsState(args.state)
        if args.spreadsheet and args.spreadsheet not in state.spreadsheets:
            state.create_spreadsheet("KPI", args.spreadsheet)
        server = serve_sheets(
            port=args.port,
            latency_ms=args.latency_ms,
            quota_per_minute=args.quota_per_minute,
            state=state,
        )
    _say(f"{args.service} emulator on {server.url} (Ctrl+C to stop)")
    try:
        threading.Event().wait()
    finally:
        server.stop()
    return 0


def _positive(below: float, what: str) -> Callable[[str], float]:
    """An argparse type: a number above 0 and below `below` (nan and inf refused too)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not 0 < value < below:
            raise argparse.ArgumentTypeError(f"expected {what} > 0, got {text!r}")
        return value

    return parse


def _whole(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high`, refused in one line otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"expected a whole number from {low} to {high}, got {text!r}"
            )
        return value

    return parse


_PORT = _whole(0, 65535)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sheets-kpi")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error said in one line (and how to see the help) instead of the
    whole usage block; exit code 2 as argparse has it."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Each option's default after its help, unless there is none to show (an off flag, an
    option that is simply absent by default) or the help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        shown = action.default is not None and action.default is not False
        if not shown or action.default == argparse.SUPPRESS or "default" in text:
            return text
        return super()._get_help_string(action) or text


def _common_options(
    parser: argparse.ArgumentParser, config: str | None, flag: bool | str, now: str | None
) -> None:
    parser.add_argument(
        "--config",
        default=config,
        metavar="PATH",
        help="the config file (default: ./config.yaml; `demo` without one: the shipped default)",
    )
    parser.add_argument(
        "--log-json",
        action="store_true",
        default=flag,
        help="everything as JSON lines on stderr, command results included (for log collectors)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", default=flag, help="debug logging")
    parser.add_argument(
        "--now",
        type=_instant,
        default=now,
        metavar="ISO-8601",
        help=f"work at this instant instead of the wall clock, e.g. {EXAMPLE}",
    )


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sheets-kpi",
        description="amoCRM activity → KPIs, bonuses and leaderboards in Sheets",
        formatter_class=_Help,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    _common_options(parser, None, False, None)
    common = _Parser(add_help=False)  # the same options after the command
    _common_options(common, argparse.SUPPRESS, argparse.SUPPRESS, argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="command")

    def add(name: str, run: Command, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name, help=help_text, description=help_text, parents=[common], formatter_class=_Help
        )
        sub.set_defaults(run=run)
        return sub

    demo = add("demo", cmd_demo, "run the whole pipeline against the built-in emulators")
    _agency_options(demo)
    demo.add_argument(
        "--cycles",
        type=_whole(1, 100),
        default=1,
        metavar="C",
        help="cycles to run (at least 2 are run: the second shows a discrepancy)",
    )
    demo.add_argument("--out", default="demo", metavar="DIR", help="folder for the demo's files")
    init_config = add(
        "init-config", cmd_init_config, "write a commented starting config.yaml to edit"
    )
    init_config.add_argument(
        "path", nargs="?", default=DEFAULT_CONFIG, help="where to write it (a file or a folder)"
    )
    init = add("init", cmd_init, "create or upgrade the input tabs and prefill the roster")
    init.add_argument(
        "--personal",
        action="store_true",
        help="instead: give every roster row with an e-mail a personal spreadsheet",
    )
    auth = add("auth", cmd_auth, "authorise the amoCRM OAuth integration and store the tokens")
    auth.add_argument("--code", help="the authorisation code (asked for when omitted)")
    add("sync", cmd_sync, "pull amoCRM into the local store")
    run = add("run", cmd_run, "one full cycle: sync, read inputs, compute, write")
    run.add_argument(
        "--period",
        metavar="YYYY-MM",
        help="instead: compute this month into a preview tab, live tabs untouched",
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="with --period: print the differences against the approved statement",
    )
    run.add_argument(
        "--reconcile",
        action="store_true",
        help="the nightly cycle of serve: re-read schedule.reconcile_days of amoCRM and "
        "rewrite every output tab, undoing edits by hand (for cron)",
    )
    close = add("close", cmd_close, "approve a month: freeze its statement for payment")
    close.add_argument("period", help="the month to approve, YYYY-MM")
    close.add_argument("--department", metavar="ID", help="one department id (default: all)")
    close.add_argument("--by", metavar="NAME", help="who approves (default: the system user)")
    serve = add("serve", cmd_serve, "the scheduled worker")
    serve.add_argument(
        "--every-minutes",
        type=_positive(10_000, "minutes"),
        metavar="N",
        help="minutes between cycles (default: schedule.every_minutes of the config)",
    )
    serve.add_argument(
        "--tv", type=_PORT, metavar="PORT", help="also serve the TV page on this port"
    )
    serve.add_argument(
        "--tv-host",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="the TV page's address (0.0.0.0: every network interface)",
    )
    tv = add("tv", cmd_tv, "the office TV page: a read-only web page of the last cycle")
    tv.add_argument("--port", type=_PORT, default=8080, metavar="N", help="port to listen on")
    tv.add_argument(
        "--host",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="address to listen on (0.0.0.0: every network interface, for a TV on the LAN)",
    )
    add("status", cmd_status, "last runs, cursors and store contents (reads only the store)")
    add("doctor", cmd_doctor, "check config, credentials, connectivity and sheet access")
    emulate = add("emulate", cmd_emulate, "run an emulator in the foreground")
    services = emulate.add_subparsers(dest="service", required=True, metavar="service")

    def service(name: str, help_text: str) -> argparse.ArgumentParser:
        return services.add_parser(
            name, help=help_text, description=help_text, parents=[common], formatter_class=_Help
        )

    amo = service("amocrm", "amoCRM API v4 emulator")
    amo.add_argument(
        "--port", type=_PORT, default=8081, metavar="N", help="port to listen on (0: any free)"
    )
    source = amo.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--data", metavar="FILE", help="account snapshot JSON (docs/amocrm-snapshot.md)"
    )
    source.add_argument("--generate", choices=["agency"], help="generate an account")
    _agency_options(amo)
    amo.add_argument(
        "--seed", type=int, default=1, metavar="N", help="seed of the generated account"
    )
    amo.add_argument(
        "--faults",
        default="",
        metavar="SPEC",
        help="planned failures, e.g. 429=0.05,500=0.02,reset=0.01,slow=0.05 (default: none)",
    )
    amo.add_argument(
        "--rps",
        type=_positive(1e6, "a number"),
        default=7,
        metavar="N",
        help="requests per second before it answers 429",
    )
    amo.add_argument("--live", action="store_true", help="keep adding activity as time passes")
    sheets = service("sheets", "Google Sheets API v4 emulator")
    sheets.add_argument(
        "--port", type=_PORT, default=8082, metavar="N", help="port to listen on (0: any free)"
    )
    sheets.add_argument(
        "--state", metavar="FILE", help="persist spreadsheets to this JSON file (default: memory)"
    )
    sheets.add_argument(
        "--spreadsheet",
        metavar="ID",
        help="create an empty spreadsheet with this id (google.spreadsheet)",
    )
    sheets.add_argument(
        "--latency-ms",
        type=_whole(0, 60_000),
        default=0,
        metavar="MS",
        help="delay added to every answer",
    )
    sheets.add_argument(
        "--quota-per-minute",
        type=_whole(1, 1_000_000),
        metavar="N",
        help="read and write requests allowed per minute (default: unlimited)",
    )
    return parser


def _agency_options(parser: argparse.ArgumentParser) -> None:
    """The generated agency's size, as `demo` and `emulate amocrm` take it."""
    parser.add_argument(
        "--managers",
        type=_whole(1, 500),
        default=12,
        metavar="N",
        help="managers in the generated agency",
    )
    parser.add_argument(
        "--months", type=_whole(1, 36), default=3, metavar="M", help="months of generated activity"
    )
