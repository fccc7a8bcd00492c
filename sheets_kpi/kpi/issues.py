"""Data issues the engine can see (SPEC §8.5): roster, plans, unknown users, config refs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields
from typing import Any

import pandas as pd

from sheets_kpi.config import Config
from sheets_kpi.kpi.inputs import Inputs
from sheets_kpi.kpi.stages import pipelines, unresolved
from sheets_kpi.locale import Locale, label


@dataclass(frozen=True)
class Issue:
    """One row of the data-issues tab, whoever finds it: the engine, the input reader, a cycle.

    `message` is the English text (logs, tests and the key of `first_seen`); an issue made
    with `Issue.said` also carries its locale key (`issue.<key>` in `sheets_kpi.locale`) and
    the key's values, so the data-issues tab shows it in the configured locale. `where` is
    English too (`place`), and the other part of that key; the tab says it in the locale."""

    severity: str
    source: str
    where: str
    value: str
    message: str
    key: str = ""
    args: tuple[tuple[str, str], ...] = ()

    @classmethod
    def said(
        cls, severity: str, source: str, where: str, value: str, key: str, **args: object
    ) -> Issue:
        """An issue whose message is the locale text `issue.<key>` filled with `args`."""
        values = tuple((name, str(item)) for name, item in args.items())
        return cls(severity, source, where, value, issue_text("en", key, values), key, values)


#: The columns people see; `key` and `args` ride along for `issue_text`.
ISSUE_COLUMNS = [field.name for field in fields(Issue)][:5]


def issue_text(locale: Locale, key: str, args: tuple[tuple[str, str], ...]) -> str:
    return label(locale, f"issue.{key}", **dict(args))


def place(name: str, **args: object) -> str:
    """An issue's `where` (`row 5, column plan`): the English text of `where.<name>`, which the
    data-issues tab shows in the configured locale (`tabs.run.shown_where`)."""
    return label("en", f"where.{name}", **args)


def issues_frame(issues: Iterable[Issue]) -> pd.DataFrame:
    """Object columns whatever the rows hold, so every source's frame concatenates alike."""
    columns = [field.name for field in fields(Issue)]
    return pd.DataFrame(map(astuple, issues), columns=columns).astype(object)


def shown_message(row: Any, locale: Locale) -> str:
    """An issue row's message in `locale`: its key's text, else the message as it was made (a
    row from a frame without `key`, or an issue made without one)."""
    key = getattr(row, "key", "")
    if isinstance(key, str) and key:
        return issue_text(locale, key, row.args)
    return str(row.message)


def roster_in_scope(inputs: Inputs, config: Config) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Active roster rows of configured departments (the people scored); strays are issues."""
    roster = inputs.roster[inputs.roster["active"]].drop_duplicates("manager_id", keep="last")
    known = {dept.id for dept in config.departments}
    stray = roster[~roster["department"].isin(known)]
    issues = issues_frame(
        Issue.said(
            "warning",
            "roster",
            place("roster_user", user=row.manager_id),
            str(row.department),
            "department_not_configured",
        )
        for row in stray.itertuples()
    )
    return roster[roster["department"].isin(known)].reset_index(drop=True), issues


def roster_of_period(
    inputs: Inputs, config: Config, daily: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """Who an ended period's statement lists: roster rows of configured departments that are
    active or had any fact dated in [start, end] (someone deactivated since is still paid)."""
    roster = inputs.roster.drop_duplicates("manager_id", keep="last")
    roster = roster[roster["department"].isin({dept.id for dept in config.departments})]
    then = daily.loc[daily["date"].between(start, end), "manager_id"]
    return roster[roster["active"] | roster["manager_id"].isin(then)].reset_index(drop=True)


def plan_issues(kpi: pd.DataFrame, carry_over: bool = True) -> pd.DataFrame:
    """KPIs without a plan: one issue per department when nobody there has one, else per row;
    plans carried over from an earlier month: one info line per department, KPI and month."""
    missing = kpi[kpi["plan"].isna()]
    carried = kpi[kpi["plan_from"].notna() & (kpi["plan_from"] != kpi["period"])]
    rows = [
        Issue.said(
            "info",
            "plans",
            f"{period} / {department} / {kpi_id}",
            str(source),
            "plan_carried",
            start=source,
            count=len(group),
            period=period,
        )
        for (period, department, kpi_id, source), group in carried.groupby(
            ["period", "department", "kpi", "plan_from"], sort=True
        )
    ]
    for (department, kpi_id), group in missing.groupby(["department", "kpi"], sort=True):
        everyone = len(group) == int(
            ((kpi["department"] == department) & (kpi["kpi"] == kpi_id)).sum()
        )
        period = str(group["period"].iloc[0])
        if everyone and len(group) > 1:
            rows.append(_no_plan(f"{period} / {department} / {kpi_id}", "department", carry_over))
            continue
        rows += [
            _no_plan(f"{period} / {name} / {kpi_id}", "manager", carry_over)
            for name in group["manager"]
        ]
    return issues_frame(rows)


def _no_plan(where: str, scope: str, carry_over: bool) -> Issue:
    key = "no_plan_department" if scope == "department" else "no_plan"
    return Issue.said("warning", "plans", where, "", key + ("_ever" if carry_over else ""))


def user_issues(inputs: Inputs, daily: pd.DataFrame, since: pd.Timestamp) -> pd.DataFrame:
    """Activity since `since` (UTC) by users outside the roster; roster rows whose amoCRM user
    is gone or blocked."""
    rostered = set(inputs.roster["manager_id"].astype("int64"))
    users = inputs.users.drop_duplicates("user_id").set_index("user_id")
    strangers = sorted(active_users(inputs, daily, since) - rostered - {0})
    rows = [
        Issue.said(
            "warning",
            "amoCRM",
            place("user", user=uid),
            str(users["name"].get(uid, "") or ""),
            "stranger" if _has_group(users, uid) else "stranger_no_group",
        )
        for uid in strangers
    ]
    if not users.empty:
        for uid in sorted(rostered):
            if uid not in users.index:
                key = "user_gone"
            elif not users.at[uid, "is_active"]:
                key = "user_deactivated"
            else:
                continue
            where = place("roster_user", user=uid)
            rows.append(Issue.said("warning", "roster", where, str(uid), key))
    return issues_frame(rows)


def active_users(inputs: Inputs, daily: pd.DataFrame, since: pd.Timestamp) -> set[int]:
    """Everyone with activity since `since`: a daily fact, a stage move, a call or a task."""
    found = _ids(daily["manager_id"])
    for table, user, stamp in (
        (inputs.stage_changes, "created_by", "created_at"),
        (inputs.calls, "user_id", "created_at"),
        (inputs.tasks, "responsible_user_id", "created_at"),
    ):
        found |= _ids(table.loc[table[stamp] >= since, user])
    return found


def _ids(users: pd.Series) -> set[int]:
    """The distinct user ids of a column (a few hundred among 100 000 rows, deduplicated
    before they become Python ints)."""
    return set(users.dropna().astype("int64").unique().tolist())


def _has_group(users: pd.DataFrame, uid: int) -> bool:
    return uid in users.index and users["group_name"].notna().get(uid, False)


def config_issues(inputs: Inputs, config: Config) -> pd.DataFrame:
    """Stage and pipeline names that match nothing in amoCRM: their KPIs would quietly be 0."""
    statuses = inputs.statuses
    if statuses.empty:
        return issues_frame([])
    refs = {f"amocrm.stages.{name}": stages for name, stages in config.amocrm.stages.items()}
    refs |= {f"rules.required_fields.{stage}": [stage] for stage in config.rules.required_fields}
    refs["rules.zero_price_after"] = list(config.rules.zero_price_after)
    rows = [
        _config_issue(where, ref, "config_no_status")
        for where, stages in refs.items()
        for ref in unresolved(stages, statuses)
    ]
    for ref in config.amocrm.upsell.pipelines:
        if not pipelines([ref], statuses):
            rows.append(_config_issue("amocrm.upsell.pipelines", str(ref), "config_no_pipeline"))
    for dept in config.departments:
        for kpi in dept.kpis:
            arg = kpi.metric_arg
            filtered = kpi.metric_name in ("won_amount", "won_count") and arg not in (
                None,
                "upsell",
            )
            if filtered and not (
                arg is not None and arg.isdigit() and int(arg) in set(statuses["pipeline_id"])
            ):
                where = f"departments.{dept.id}.kpis.{kpi.id}"
                rows.append(_config_issue(where, str(arg), "config_bad_filter"))
    return issues_frame(rows)


def _config_issue(where: str, value: str, key: str) -> Issue:
    return Issue.said("error", "config.yaml", where, value, key)
