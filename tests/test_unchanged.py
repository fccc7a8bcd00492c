"""A cycle with nothing new keeps the last output (sheets_kpi/unchanged.py): it computes and
writes nothing but its run-log row, until amoCRM, an input, a tab or the clock moves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests

from sheets_kpi.cycle import run_cycle
from sheets_kpi.emulators.amocrm.mutations import LOST, WON
from sheets_kpi.sources.amocrm import make_client
from tests.conftest import NOW
from tests.small_world import SmallWorld, small_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmallWorld]:
    with small_world(tmp_path_factory.mktemp("unchanged")) as built:
        yield built


@pytest.fixture
def settled(world: SmallWorld) -> SmallWorld:
    """Two cycles: the first writes the tabs' structure, the second sees them as written."""
    world.cycle()
    world.cycle()
    return world


def test_nothing_new_keeps_the_output_and_writes_only_the_run_log_row(settled: SmallWorld) -> None:
    before = {title: settled.tab(title) for title in ("Итоги — Продажи", "data_daily")}
    log_rows = len(settled.tab("Журнал"))
    report = settled.cycle()
    assert report.status == "ok", report.error
    assert report.kept_from == settled.store.output_state()[2]
    assert (report.sheets_read_requests, report.sheets_write_requests) == (2, 1)
    assert report.rows_written == 0
    assert report.issues == settled.store.output_state()[3] > 0  # told, not lost
    assert {title: settled.tab(title) for title in before} == before
    assert len(settled.tab("Журнал")) == log_rows + 1


def test_the_output_holds_until_the_instant_its_numbers_move(settled: SmallWorld) -> None:
    valid_until = settled.store.output_state()[1]
    just_before = settled.now + timedelta(seconds=valid_until - NOW - 1)
    assert settled.cycle(just_before).kept_from is not None
    assert settled.cycle(settled.now + timedelta(seconds=valid_until - NOW)).kept_from is None


def test_a_new_won_deal_is_computed(settled: SmallWorld) -> None:
    account = settled.account
    lead = next(
        item
        for item in account.entities["leads"].values()
        if item["status_id"] not in (WON, LOST) and not item["is_deleted"]
    )
    account.move_lead_status(lead["id"], WON, lead["responsible_user_id"], at=NOW - 60)
    report = settled.cycle()
    assert report.entities_new + report.entities_updated > 0
    assert report.kept_from is None


def test_an_edited_input_cell_is_computed(settled: SmallWorld) -> None:
    plans = settled.worksheet("Планы")
    plans.update([[plans.acell("D2").value + "0"]], "D2")
    assert settled.cycle().kept_from is None


def test_a_deleted_output_tab_is_written_again(settled: SmallWorld) -> None:
    book = settled.gateway().client.open_by_key(settled.book)
    book.del_worksheet(book.worksheet("Итоги — Продажи"))
    assert settled.cycle().kept_from is None
    assert "Итоги — Продажи" in settled.titles()


def test_the_nightly_reconcile_always_computes(settled: SmallWorld) -> None:
    report = run_cycle(
        settled.config,
        settled.store,
        make_client(settled.config.amocrm),
        settled.gateway(),
        settled.now,
        reconcile=True,
    )
    assert report.status == "ok"
    assert report.kept_from is None


def task_due(world: SmallWorld, roster_row: int, deadline: int, text: str) -> str:
    """A task on a lead of the roster's `roster_row`-th manager, due at `deadline`; their tab."""
    row = world.tab("Сотрудники")[1 + roster_row]
    manager_id = int(row[0])
    lead = next(
        item
        for item in world.account.entities["leads"].values()
        if item["responsible_user_id"] == manager_id and not item["is_deleted"]
    )
    world.account.add_task("leads", lead["id"], manager_id, deadline, text=text)
    return str(row[1])


def test_a_task_falling_due_grows_the_managers_tab_in_one_write(settled: SmallWorld) -> None:
    """No new data, but a deadline passed: the overdue list and `data_daily` are a row longer.
    The grids grow and the few changed values go with them in the one batchUpdate."""
    name = task_due(settled, 0, NOW + 600, "Перезвонить")
    assert settled.cycle().kept_from is None  # the new task, not yet due
    later = settled.cycle(settled.now + timedelta(minutes=15))
    assert later.status == "ok", later.error
    assert (later.sheets_read_requests, later.sheets_write_requests) == (2, 1)
    assert any(row[0] == "Перезвонить" for row in settled.tab(name))
    assert settled.tab("Журнал")[-1][6] == "ok"


def test_a_lost_answer_to_that_one_write_fails_the_cycle_and_the_next_puts_it_right(
    settled: SmallWorld,
) -> None:
    name = task_due(settled, 1, NOW + 1500, "Отправить КП")
    assert settled.cycle(settled.now + timedelta(minutes=20)).status == "ok"
    fault = {"next": ["reset"], "operation": "spreadsheets.batchUpdate"}
    requests.post(f"{settled.sheets_server.url}/_emulator/faults", timeout=5, json=fault)
    failed = settled.cycle(settled.now + timedelta(minutes=30))
    assert failed.status == "failed"
    assert settled.tab("Журнал")[-1][6] == "failed"  # its row, in a request of its own
    again = settled.cycle(settled.now + timedelta(minutes=31))
    assert again.status == "ok", again.error
    assert any(row[0] == "Отправить КП" for row in settled.tab(name))
