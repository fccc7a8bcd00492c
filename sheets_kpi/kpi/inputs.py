"""The engine's inputs: amoCRM frames from the store plus validated Sheets frames."""

from __future__ import annotations

from dataclasses import dataclass, fields

import pandas as pd

UTC = "datetime64[ns, UTC]"

#: Column → dtype of every input frame (docs/architecture.md is the prose of this table).
SCHEMAS: dict[str, dict[str, str]] = {
    "users": {
        "user_id": "int64",
        "name": "object",
        "email": "object",
        "group_id": "Int64",
        "group_name": "object",
        "is_active": "bool",
        "rank": "object",
    },
    "statuses": {
        "pipeline_id": "int64",
        "pipeline_name": "object",
        "status_id": "int64",
        "status_name": "object",
        "sort": "Int64",
    },
    "leads": {
        "lead_id": "int64",
        "name": "object",
        "price": "float64",
        "responsible_user_id": "Int64",
        "pipeline_id": "Int64",
        "status_id": "Int64",
        "created_at": UTC,
        "updated_at": UTC,
        "closed_at": UTC,
        "is_deleted": "bool",
        "contact_id": "Int64",
        "company_id": "Int64",
        "custom_fields": "object",
    },
    "clients": {"client_type": "object", "client_id": "int64", "responsible_user_id": "Int64"},
    "stage_changes": {
        "event_id": "object",
        "lead_id": "int64",
        "created_at": UTC,
        "created_by": "Int64",
        "pipeline_id": "Int64",
        "status_id": "Int64",
        "before_pipeline_id": "Int64",
        "before_status_id": "Int64",
    },
    "responsible_changes": {
        "event_id": "object",
        "lead_id": "int64",
        "created_at": UTC,
        "before_user_id": "Int64",
        "after_user_id": "Int64",
    },
    "calls": {
        "note_id": "int64",
        "created_at": UTC,
        "direction": "object",
        "user_id": "Int64",
        "entity_type": "object",
        "entity_id": "Int64",
        "contact_id": "Int64",
        "phone": "object",
        "duration": "int64",
        "call_status": "Int64",
    },
    "tasks": {
        "task_id": "int64",
        "responsible_user_id": "Int64",
        "entity_type": "object",
        "entity_id": "Int64",
        "created_at": UTC,
        "complete_till": UTC,
        "is_completed": "bool",
        "completed_at": UTC,
        "text": "object",
    },
    "deal_violations": {
        "lead_id": "int64",
        "rule": "object",
        "first_seen_at": UTC,
        "resolved_at": UTC,
        "backlog": "bool",
    },
    "rule_evaluation": {"first_at": UTC},
    "roster": {
        "manager_id": "int64",
        "name": "object",
        "department": "object",
        "seniority": "object",
        "email": "object",
        "personal_spreadsheet": "object",
        "active": "bool",
        "bonus_base": "float64",
    },
    "plans": {
        "period": "object",
        "manager_id": "Int64",
        "department": "object",
        "kpi": "object",
        "plan": "float64",
    },
    "scores": {
        "date": "datetime64[ns]",
        "manager_id": "int64",
        "kind": "object",
        "score": "float64",
        "ref": "object",
    },
    "violations": {
        "date": "datetime64[ns]",
        "manager_id": "int64",
        "type": "object",
        "ref": "object",
    },
    "appeals": {
        "date": "datetime64[ns]",
        "manager_id": "int64",
        "ref": "object",
        "outcome": "object",
        "row": "Int64",  # the sheet row, for data issues (NA when not from Sheets)
        "tab": "object",  # the tab's title as found
    },
}


def frame(name: str, rows: list[dict] | None = None) -> pd.DataFrame:
    """A frame of the named schema from row dicts; a key a row lacks is a missing value."""
    return conform(name, pd.DataFrame(rows or [], columns=list(SCHEMAS[name])))


def conform(name: str, data: pd.DataFrame) -> pd.DataFrame:
    """`data` as the engine reads it: the schema's columns only, in its order and dtypes.

    A missing column is a producer's bug, not a data problem, so it raises instead of being
    filled with missing values.
    """
    schema = SCHEMAS[name]
    missing = [column for column in schema if column not in data.columns]
    if missing:
        raise ValueError(f"input frame {name!r} has no column(s): {', '.join(missing)}")
    if list(data.columns) == list(schema) and all(
        str(kind) == dtype for kind, dtype in zip(data.dtypes, schema.values(), strict=True)
    ):
        return data  # already conformed: `serve`'s kept frames stay the same objects
    typed = {column: _cast(data[column], dtype) for column, dtype in schema.items()}
    return pd.DataFrame(typed, copy=False)


def _cast(column: pd.Series, dtype: str) -> pd.Series:
    """One column as `dtype`, untouched if it already is; a missing flag becomes False."""
    if str(column.dtype) == dtype:
        return column
    if dtype == UTC:
        return pd.to_datetime(column, utc=True).astype("datetime64[ns, UTC]")
    if dtype == "datetime64[ns]":
        return pd.to_datetime(column).astype("datetime64[ns]")
    if dtype == "bool":  # via object: a column of missing values is float, and False no float
        return column.astype(object).where(column.notna(), False).astype(bool)
    return column.astype(pd.api.types.pandas_dtype(dtype))


@dataclass
class Inputs:
    users: pd.DataFrame
    statuses: pd.DataFrame
    leads: pd.DataFrame
    clients: pd.DataFrame
    stage_changes: pd.DataFrame
    responsible_changes: pd.DataFrame
    calls: pd.DataFrame
    tasks: pd.DataFrame
    deal_violations: pd.DataFrame
    rule_evaluation: pd.DataFrame
    roster: pd.DataFrame
    plans: pd.DataFrame
    scores: pd.DataFrame
    violations: pd.DataFrame
    appeals: pd.DataFrame

    @classmethod
    def build(cls, **frames: pd.DataFrame | list[dict]) -> Inputs:
        """Inputs from frames or row lists; anything not given is an empty frame.

        Every frame is conformed to its schema, so the engine sees one set of dtypes whichever
        producer (store, Sheets, tests, benchmark) built it.
        """
        names = [f.name for f in fields(cls)]
        unknown = set(frames) - set(names)
        if unknown:
            raise TypeError(f"unknown input frames: {sorted(unknown)}")
        return cls(
            **{
                name: conform(name, value)
                if isinstance(value := frames.get(name), pd.DataFrame)
                else frame(name, value)
                for name in names
            }
        )
