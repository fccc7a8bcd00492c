"""KeptHashes between cycles: whatever changed in a layout, what it hands the writer is exactly
what the layout gives worked out afresh (every RAW cell with its type, every block hash, the
structure hash), and blocks of the same rows are taken from last cycle, not worked out again."""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from itertools import zip_longest
from typing import Any

import pytest

from sheets_kpi.sheets import layout as layout_module
from sheets_kpi.sheets.layout import (
    NARROWEST,
    PADDING,
    PIXELS_PER_CHAR,
    WIDEST,
    Block,
    Hashed,
    KeptHashes,
    LineChart,
    TabLayout,
    fitted_widths,
)

EDITORS = ("boss@example.com",)
#: Cells that `==` mixes up but are written, hashed or shown apart, and some that are not equal
#: even to themselves.
CELLS: list[Any] = [
    1, 1.0, True, 0, 0.0, -0.0, False, 2.5, 0.33871, 0.33872, 1234.567, -7.125, 10**20,
    math.nan, math.inf, None, "", "a", "Анна", "two\nlines", "x" * 30, '=IMPORTXML("x")',
    Decimal("1.0"), Decimal("1.00"), date(2026, 11, 30),
]  # fmt: skip
PATTERNS = ["0%", "0.0%", "0.00", "0", '#,##0 "₽"', "yyyy-mm-dd", ""]


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of 4 rows, so a small layout has many of them and edits hit their edges."""
    monkeypatch.setattr(layout_module, "BLOCK_ROWS", 4)


def fresh(layout: TabLayout, editors: tuple[str, ...] = EDITORS) -> Hashed:
    return Hashed(layout.structure_digest(editors), *layout.hashed_values())


def assert_exact(got: Hashed, want: Hashed) -> None:
    """Equal, and equal as written: `[1] == [True] == [1.0]`, but not in a request."""
    assert got == want
    assert repr(got.cells) == repr(want.cells)


def random_row(rng: random.Random, width: int) -> list[Any]:
    return [rng.choice(CELLS) for _ in range(rng.randint(0, width))]


def random_layout(rng: random.Random) -> TabLayout:
    rows = [["kpi", "fact", "plan", "share", "at"]]
    rows += [random_row(rng, 6) for _ in range(rng.randint(0, 22))]
    return TabLayout("t", rows, formats=[random_format(rng) for _ in range(rng.randint(0, 3))])


def random_format(rng: random.Random) -> Block:
    row0, col0 = rng.randint(0, 20), rng.randint(0, 5)
    return Block(
        row0, col0, row0 + rng.randint(1, 12), col0 + rng.randint(1, 3), rng.choice(PATTERNS)
    )


def edit_cell(rng: random.Random, layout: TabLayout) -> None:
    row = rng.choice(layout.rows)
    if row:
        row[rng.randrange(len(row))] = rng.choice(CELLS)
    else:
        row.append(rng.choice(CELLS))


def edit_type(rng: random.Random, layout: TabLayout) -> None:
    """A cell becomes an equal one of another type or sign: 1 / 1.0 / True, 0.0 / -0.0, …"""
    twins = [[1, 1.0, True], [0, 0.0, -0.0, False], [Decimal("1.0"), Decimal("1.00"), 1]]
    cells = [(r, c) for r, row in enumerate(layout.rows) for c in range(len(row))]
    for r, c in rng.sample(cells, min(3, len(cells))):
        layout.rows[r][c] = rng.choice(rng.choice(twins))


def edit_nan(rng: random.Random, layout: TabLayout) -> None:
    """A NaN cell, new each time (NaN != NaN), or the very same one again."""
    row = rng.choice(layout.rows)
    row.append(float("nan") if rng.random() < 0.5 else math.nan)


def append_rows(rng: random.Random, layout: TabLayout) -> None:
    layout.rows += [random_row(rng, 6) for _ in range(rng.randint(1, 6))]


def remove_rows(rng: random.Random, layout: TabLayout) -> None:
    start = rng.randrange(1, len(layout.rows) + 1)
    del layout.rows[start : start + rng.randint(1, 5)]


def insert_row(rng: random.Random, layout: TabLayout) -> None:
    layout.rows.insert(rng.randrange(1, len(layout.rows) + 1), random_row(rng, 6))


def widen(rng: random.Random, layout: TabLayout) -> None:
    """One row grows past the others: the grid is wider and every block is padded anew."""
    rng.choice(layout.rows).extend([rng.choice(CELLS)] * rng.randint(1, 3))


def edit_formats(rng: random.Random, layout: TabLayout) -> None:
    """Patterns added, moved or dropped (what a float is rounded to), or grown with the rows."""
    formats = layout.formats
    choice = rng.randrange(4)
    if choice == 0 or not formats:
        formats.append(random_format(rng))
    elif choice == 1:
        formats.pop(rng.randrange(len(formats)))
    elif choice == 2:
        i = rng.randrange(len(formats))
        block = formats[i]
        formats[i] = Block(block.row0, block.col0, block.row1 + 1, block.col1, block.pattern)
    else:
        formats.reverse()  # overlapping patterns: the last one wins


def edit_volatile(rng: random.Random, layout: TabLayout) -> None:
    if rng.random() < 0.5:
        layout.volatile_columns = tuple(rng.sample(range(7), rng.randint(0, 2)))
    else:
        height = len(layout.rows) + 2
        layout.volatile_cells = tuple(
            (rng.randrange(height), rng.randrange(7)) for _ in range(rng.randint(0, 2))
        )


def edit_settings(rng: random.Random, layout: TabLayout) -> None:
    """Widths given or fitted, grid padding (frozen panes, a chart), append-only, the gate."""
    choice = rng.randrange(5)
    if choice == 0:
        layout.widths = {} if layout.widths else {0: 120, 3: 80}
    elif choice == 1:
        layout.frozen_rows = rng.randint(0, 3)
    elif choice == 2:
        chart = LineChart("c", 0, (1,), 1, 5, rng.randint(0, 30), 2)
        layout.chart = None if layout.chart else chart
    elif choice == 3:
        layout.append_only = not layout.append_only
    else:
        layout.gate = rng.choice([1, 1.0, 0.7, True])


EDITS: list[Callable[[random.Random, TabLayout], None]] = [
    edit_cell, edit_type, edit_nan, append_rows, remove_rows, insert_row, widen, edit_formats,
    edit_volatile, edit_settings,
]  # fmt: skip


@pytest.mark.parametrize("seed", range(60))
def test_kept_hashes_after_random_edits_are_those_worked_out_afresh(seed: int) -> None:
    rng = random.Random(seed)
    layout = random_layout(rng)
    hashes = KeptHashes()
    for _ in range(25):
        editors = rng.choice([EDITORS, (), ("boss@example.com", "deputy@example.com")])
        assert_exact(hashes.of(layout, editors), fresh(layout, editors))
        layout = copy.deepcopy(layout)  # the next cycle's layout: new objects
        for edit in rng.sample(EDITS, rng.randint(0, 2)):
            edit(rng, layout)


@pytest.mark.parametrize("seed", range(20))
def test_a_layout_changed_in_place_is_seen_as_changed(seed: int) -> None:
    """Rows are compared as they were when hashed, not as the old layout holds them now."""
    rng = random.Random(seed)
    layout = random_layout(rng)
    hashes = KeptHashes()
    for _ in range(15):
        assert_exact(hashes.of(layout, EDITORS), fresh(layout))
        rng.choice(EDITS)(rng, layout)


def test_only_the_blocks_of_rows_that_changed_are_worked_out_again(monkeypatch) -> None:
    rows = [["date", "value"]] + [[f"d{i}", i / 7] for i in range(18)]
    layout = TabLayout("t", rows, formats=[Block(1, 1, 19, 2, "0.0")])
    hashes = KeptHashes()
    first = hashes.of(layout, EDITORS)
    made: list[int] = []
    value_block = layout_module._value_block

    def counted(rows: list, start: int, *args: Any) -> list:
        made.append(start)
        return value_block(rows, start, *args)

    monkeypatch.setattr(layout_module, "_value_block", counted)
    today = TabLayout(
        "t", copy.deepcopy(rows) + [["d18", 18 / 7]], formats=[Block(1, 1, 20, 2, "0.0")]
    )
    today.rows[17][1] = 1.0  # in the last block, rows 16-19, as is the new row 19
    kept = hashes.of(today, EDITORS)
    assert made == [16]  # the others are taken as they were
    assert kept.digests[:4] == first.digests[:4] and kept.cells[:16] == first.cells[:16]
    assert_exact(kept, fresh(today))
    made.clear()
    assert hashes.of(copy.deepcopy(today), EDITORS) is kept  # nothing changed: nothing to do
    assert made == []


def test_a_tab_that_lost_its_last_block_of_rows_is_hashed_again() -> None:
    rows = [["a", "b"]] + [[i, i] for i in range(3)] + [["wide", 1, 2, 3]]
    hashes = KeptHashes()
    hashes.of(TabLayout("t", rows), EDITORS)
    shorter = TabLayout("t", copy.deepcopy(rows[:-1]))  # its first block is as it was
    assert_exact(hashes.of(shorter, EDITORS), fresh(shorter))


def release_fitted_widths(layout: TabLayout) -> dict[int, int]:
    """`fitted_widths` as it was, in one go over the whole tab: the one measured per block of
    rows must give the same."""
    kept = [row for row in layout.rows if len(row) - row.count(None) - row.count("") >= 2]
    distinct = []
    for cells in zip_longest(*kept):
        kinds = set(map(type, cells)) - {str, type(None)}
        if len(kinds) <= 1:
            values = [v for v in set(cells) if v not in (None, "")]
        else:
            values = [
                v for _, v in set(zip(map(type, cells), cells, strict=True)) if v not in (None, "")
            ]
        distinct.append(values)
    longest = {
        col: max(
            map(
                len,
                "\n".join(v if type(v) is str else layout_module._shown(v) for v in values).split(
                    "\n"
                ),
            )
        )
        for col, values in enumerate(distinct)
        if values
    }
    return {
        col: min(WIDEST, max(NARROWEST, PADDING + PIXELS_PER_CHAR * chars))
        for col, chars in longest.items()
    }


@pytest.mark.parametrize("seed", range(200))
def test_widths_measured_by_block_are_those_of_the_whole_column(seed: int) -> None:
    rng = random.Random(seed)
    layout = random_layout(rng)
    for edit in rng.sample(EDITS, 3):
        edit(rng, layout)
    assert fitted_widths(layout) == release_fitted_widths(layout)


def test_equal_values_that_show_apart_count_as_the_first_of_them_in_the_column() -> None:
    first, later = Decimal("1"), Decimal("1.0000000000000")  # equal, 1 and 15 characters
    rows = [["a", first]] + [["b", None]] * 5 + [["c", later]]
    assert fitted_widths(TabLayout("t", rows)) == release_fitted_widths(TabLayout("t", rows))
    assert fitted_widths(TabLayout("t", rows))[1] == NARROWEST
    assert fitted_widths(TabLayout("t", rows[::-1]))[1] == PADDING + PIXELS_PER_CHAR * 15


@pytest.mark.parametrize("seed", range(10))
def test_the_writer_plans_the_same_writes_with_kept_hashes_and_the_tab_holds_every_cell(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cycles of a data tab that grows and moves at its tail, as `serve` writes it: the same
    writes with kept hashes as without. Of a changed block only the rows that differ from what
    the ledger says the tab holds are sent (the whole block when it knows no rows), and the
    tab, replayed, holds exactly the layout's cells, each with its type."""
    from sheets_kpi.sheets import writer
    from sheets_kpi.sheets.render import HASH_KEY, MARKER
    from sheets_kpi.sheets.writer import Written, landed, plan_writes

    monkeypatch.setattr(writer, "BLOCK_ROWS", layout_module.BLOCK_ROWS)  # 4 rows there too

    rng = random.Random(seed)
    rows = [["date", "manager", "value"]] + [[46296 + i // 3, "Анна", i / 3] for i in range(30)]
    kept = KeptHashes()
    metadata: dict = {"sheets": []}
    ledger: dict = {}
    tab: list[list[Any]] = []  # what the tab holds
    sent = whole = written = blocks = 0
    for _ in range(8):
        layout = TabLayout("data_daily", copy.deepcopy(rows), formats=[random_format(rng)])
        plans = [
            plan_writes(metadata, [layout], list(EDITORS), ledger=ledger, hashes=hashes)
            for hashes in (None, kept)
        ]
        assert repr(plans[0]) == repr(plans[1])
        want = layout.value_rows()
        tab = tab[: len(want)] + [[] for _ in range(len(want) - len(tab))]
        for unit in plans[1].values:
            for first, piece in zip(unit.starts, unit.data, strict=True):
                assert piece["range"] == f"'data_daily'!A{first + 1}"
                tab[first : first + len(piece["values"])] = piece["values"]
                sent += len(piece["values"])
        assert repr(tab) == repr(want)
        blind = {t: Written(w.sheet_id, w.structure, w.blocks) for t, w in ledger.items()}
        whole += plan_writes(metadata, [layout], list(EDITORS), ledger=blind).report.rows_written
        assert plans[1].values  # the tail, at least
        written += len(plans[1].values)
        blocks += len(layout.block_digests())
        structure = layout.structure_digest(EDITORS)
        marks = [{"metadataId": 1, "metadataKey": MARKER, "metadataValue": "owner"}]
        marks.append({"metadataId": 2, "metadataKey": HASH_KEY, "metadataValue": structure})
        grid = {"rowCount": len(rows), "columnCount": 3}
        properties = {"sheetId": 7, "title": "data_daily", "gridProperties": grid}
        metadata = {"sheets": [{"properties": properties, "developerMetadata": marks}]}
        ledger = dict(plans[1].ledger)
        landed(ledger, plans[1].values)
        rows[-1][2] = rng.choice(CELLS)  # today's row moves, and a new one comes
        rows.append([rows[-1][0] + rng.randint(0, 1), "Анна", rng.choice(CELLS)])
    assert written < blocks  # not everything, every time
    assert sent < whole  # fewer rows than whole blocks
