"""The metrics a KPI can measure (SPEC §7.1) and the one reading of `name(arg)` in config.yaml.

A leaf module (no config, no pandas) so that config validation and the engine read the same
records; the fact builders in facts.py are keyed by these names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

_FORM = re.compile(r"(?P<name>[a-z_]+)(?:\((?P<arg>[A-Za-z0-9_]+)\))?")


@dataclass(frozen=True)
class Metric:
    name: str
    description: str
    argument: Literal["none", "required", "optional"] = "none"
    #: what the argument is, as config errors name it ("a score kind").
    argument_kind: str = ""
    #: an argument shown in the "needs an argument" error.
    example: str = ""
    #: the only arguments that can count anything; empty when any of the kind may.
    allowed: tuple[str, ...] = ()
    #: the value is Σnum / Σden, not Σnum.
    ratio: bool = False
    #: counts a lead at most once per period, so its daily rows depend on the period length.
    distinct: bool = False


_FILTER = "a filter: upsell or a pipeline id"
METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric(
            "stage_reached",
            "leads entering a stage, each once per period",
            argument="required",
            argument_kind="a stage key from amocrm.stages",
            example="handoff",
            distinct=True,
        ),
        Metric("won_amount", "the price of won leads", argument="optional", argument_kind=_FILTER),
        Metric("won_count", "won leads", argument="optional", argument_kind=_FILTER),
        Metric("calls_missed_share", "share of incoming calls missed", ratio=True),
        Metric("callback_minutes", "minutes from a missed call to the call back", ratio=True),
        Metric("calls_outgoing", "outgoing calls"),
        Metric("tasks_overdue", "tasks done late or not done by their deadline"),
        Metric("tasks_overdue_share", "share of due tasks that are overdue", ratio=True),
        Metric("tasks_completed", "tasks still marked done"),
        Metric("deal_violations", "deal rule violations, automatic and manual"),
        Metric(
            "deals_correct_share",
            "share of leads open in the period that no violation touched",
            ratio=True,
            distinct=True,
        ),
        Metric(
            "score_avg",
            "mean score of one kind from the scores tab",
            argument="required",
            argument_kind="a score kind",
            example="call_quality",
            allowed=("call_quality", "nps"),
            ratio=True,
        ),
        Metric("nps", "net promoter score of the NPS answers", ratio=True),
        Metric(
            "violations",
            "manual violations of one type",
            argument="required",
            argument_kind="a violation type",
            example="control",
            allowed=("deal", "control", "regulation"),
        ),
        Metric("appeals_lost", "appeals lost"),
    )
}


def parse_metric(text: str) -> tuple[Metric, str | None]:
    """A KPI's `metric` (`name` or `name(arg)`) as its record and argument.

    Raises ValueError saying what is wrong and the form expected, which config errors show.
    """
    name = text.split("(")[0].strip()
    if name not in METRICS:
        raise ValueError(f"unknown metric; expected one of {', '.join(METRICS)}")
    metric = METRICS[name]
    match = _FORM.fullmatch(text.strip())
    if not match:
        form = {
            "none": name,
            "required": f"{name}(argument)",
            "optional": f"{name} or {name}(argument)",
        }[metric.argument]
        raise ValueError(f"must be written {form} without spaces")
    arg = match["arg"]
    if metric.argument == "required" and arg is None:
        raise ValueError(
            f"{name} needs an argument: {metric.argument_kind}, e.g. {name}({metric.example})"
        )
    if metric.argument == "none" and arg is not None:
        raise ValueError(f"{name} takes no argument; write just {name}")
    if metric.allowed and arg not in metric.allowed:
        raise ValueError(
            f"{arg} is not {metric.argument_kind}; expected one of {', '.join(metric.allowed)}"
        )
    return metric, arg
