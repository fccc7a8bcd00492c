"""A personal spreadsheet cleared from the roster: its tab is released (renamed, no longer
ours), the manager's tab is back in the main spreadsheet, and a data issue says so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from sheets_kpi.sheets.writer import owned
from tests.small_world import SmallWorld, small_world

OWN = "own-book-0123456789abcdef"


@pytest.fixture
def world(tmp_path) -> Iterator[SmallWorld]:
    with small_world(tmp_path, "release-book") as world:
        yield world


def test_a_cleared_personal_spreadsheet_releases_its_tab_with_an_issue(world) -> None:
    world.sheets.create_spreadsheet("Личный KPI", OWN)
    roster = world.worksheet("Сотрудники")
    name = roster.get_values("B2")[0][0]
    roster.update([[OWN]], "F2")
    assert world.cycle().status == "ok"
    assert name in world.titles(OWN) and name not in world.titles()

    roster.update([[""]], "F2")  # cleared: the tab comes back to the main spreadsheet
    later = world.now + timedelta(minutes=15)
    report = world.cycle(later)
    assert report.status == "ok", report.error
    assert name in world.titles()
    released = f"{name} (отключена 2026-11-18)"
    assert released in world.titles(OWN) and name not in world.titles(OWN)
    metadata = world.gateway().metadata(OWN)
    assert not any(owned(sheet) for sheet in metadata["sheets"])
    assert not any(sheet.get("protectedRanges") for sheet in metadata["sheets"])
    issues = [row for row in world.tab("Проблемы данных")[1:] if row[3] == OWN]
    assert len(issues) == 1
    assert issues[0][:3] == ["warning", "Сотрудники", "столбец «Личная таблица»"]
    assert f"перестал обновлять её вкладку '{name}' 2026-11-18" in issues[0][4]

    world.sheets_server.reset_stats()
    assert world.cycle(later + timedelta(days=8)).status == "ok"  # released once, told a week
    assert not any(OWN in entry.path for entry in world.sheets_server.log)
    assert not any(row[3] == OWN for row in world.tab("Проблемы данных")[1:])

    roster.update([[OWN]], "F2")  # named again: a new tab beside the released one
    assert world.cycle(later + timedelta(days=9)).status == "ok"
    assert {name, released} <= set(world.titles(OWN))
