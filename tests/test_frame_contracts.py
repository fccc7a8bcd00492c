"""Frame contracts: both producers deliver the engine's input frames exactly as SCHEMAS says."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from sheets_kpi.cycle import compute_results, read_inputs
from sheets_kpi.emulators.amocrm import AmoState, serve
from sheets_kpi.emulators.sheets import SheetsState
from sheets_kpi.emulators.sheets import serve as serve_sheets
from sheets_kpi.kpi.inputs import SCHEMAS, Inputs, conform, frame
from sheets_kpi.sheets.gateway import SheetsGateway
from sheets_kpi.sheets.init_tabs import init_inputs
from sheets_kpi.sources.amocrm import make_client
from sheets_kpi.sources.amocrm.sync import sync
from sheets_kpi.store.db import Store
from sheets_kpi.store.frames import amocrm_frames
from tests.conftest import NOW_AT, shipped_config

BOOK = "contracts-book"


@pytest.fixture(scope="module")
def produced(agency: AmoState) -> Iterator[dict[str, pd.DataFrame]]:
    """Every input frame as the cycle gets it: a synced store and the input tabs read back."""
    amo_server = serve(AmoState(agency.snapshot()), rps=1000)
    sheets = SheetsState(seed=1)
    sheets.create_spreadsheet("KPI", BOOK)
    sheets_server = serve_sheets(state=sheets)
    store = Store(":memory:")
    try:
        config = shipped_config(base_url=amo_server.url, requests_per_second=1000)
        config = config.model_copy(
            update={
                "google": config.google.model_copy(
                    update={"spreadsheet": BOOK, "endpoint": sheets_server.url}
                )
            }
        )
        sync(make_client(config.amocrm), store, config.amocrm, now=NOW_AT)
        gateway = SheetsGateway(config.google)
        init_inputs(gateway, config, amocrm_frames(store)["users"], NOW_AT)
        roster = read_inputs(gateway, config).frames["roster"]
        manager, department = int(roster.loc[0, "manager_id"]), roster.loc[0, "department"]
        kpi = next(k.id for k in config.department(department).kpis if k.unit != "share")
        day, month = NOW_AT.strftime("%Y-%m-%d"), NOW_AT.strftime("%Y-%m")
        rows = {
            "Планы": [[month, manager, "", kpi, 40], [month, "", "sales", "sales_rub", 9e5]],
            "Оценки": [[day, manager, "nps", 9, "#1", ""]],
            "Нарушения": [[day, manager, "control", "#2", ""]],
            "Апелляции": [[day, manager, "#2", "lost"]],
        }
        for title, values in rows.items():
            gateway.http.values_append(
                BOOK, f"'{title}'!A1", params={"valueInputOption": "RAW"}, body={"values": values}
            )
        inputs, issues, *_ = read_inputs(gateway, config)
        assert issues.empty, issues.to_string()
        compute_results(config, store, inputs, NOW_AT)  # records the deal violations
        yield {**amocrm_frames(store), **inputs}
    finally:
        store.close()
        amo_server.stop()
        sheets_server.stop()


def dtypes(data: pd.DataFrame) -> dict[str, str]:
    return {column: str(dtype) for column, dtype in data.dtypes.items()}


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_producers_deliver_exactly_the_schema(produced, name: str) -> None:
    data = produced[name]
    assert not data.empty, f"{name}: an empty frame proves nothing about its producer"
    assert dtypes(data) == SCHEMAS[name]
    assert list(data.columns) == list(SCHEMAS[name])


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_conform_leaves_a_produced_frame_as_it_is(produced, name: str) -> None:
    once = conform(name, produced[name])
    pd.testing.assert_frame_equal(once, produced[name])
    assert conform(name, once) is once  # the very frame: serve knows it unchanged (KeptFacts)


def test_conform_casts_keeps_the_index_and_drops_extra_columns() -> None:
    data = pd.DataFrame(
        {
            "extra": [1, 2],
            "rule": ["stale_stage", "no_next_task"],  # pandas 3 makes this `str`
            "resolved_at": [pd.NaT, pd.Timestamp("2026-11-03 09:00", tz="UTC")],
            "first_seen_at": ["2026-11-01 10:00Z", "2026-11-02 10:00Z"],
            "lead_id": [5.0, 6.0],
            "backlog": [0, 1],  # the store's integer flag
        },
        index=[7, 3],
    )
    conformed = conform("deal_violations", data)
    assert dtypes(conformed) == SCHEMAS["deal_violations"]
    assert conformed.index.tolist() == [7, 3]
    assert conformed["lead_id"].tolist() == [5, 6]
    assert conformed["resolved_at"].isna().tolist() == [True, False]
    assert conformed["backlog"].tolist() == [False, True]


def test_conform_names_the_frame_and_the_missing_column() -> None:
    leads = frame("leads").drop(columns=["closed_at", "is_deleted"])
    with pytest.raises(ValueError, match=r"'leads' has no column\(s\): closed_at, is_deleted"):
        conform("leads", leads)
    with pytest.raises(ValueError, match="'leads'"):
        Inputs.build(leads=leads)


def test_a_status_without_sort_is_kept_as_missing(store: Store) -> None:
    pipeline = {"id": 1, "name": "Продажи", "sort": 1, "is_archive": 0, "raw": "{}"}
    store.upsert("pipelines", [{**pipeline, "synced_at": 0}])
    store.upsert(
        "statuses",
        [
            {"pipeline_id": 1, "status_id": 10, "name": "Новый", "sort": 10},
            {"pipeline_id": 1, "status_id": 11, "name": "Без порядка", "sort": None},
        ],
    )
    sort = amocrm_frames(store)["statuses"].set_index("status_id")["sort"]
    assert str(sort.dtype) == "Int64"
    assert sort[10] == 10
    assert sort.isna().tolist() == [False, True]
