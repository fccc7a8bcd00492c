"""Layouts → batchUpdate requests and RAW values, without a server: rules, grid sizes, markers,
blocks, batch splits."""

from __future__ import annotations

import json
import re
from fractions import Fraction

import pytest

from sheets_kpi.sheets import writer
from sheets_kpi.sheets.layout import Block, Hashed, KeptHashes, LineChart, TabLayout
from sheets_kpi.sheets.render import (
    HASH_KEY,
    MARKER,
    TITLE_KEY,
    achievement_rules,
    column_letter,
    encode,
    locale_free,
    shown_threshold,
    structure_requests,
)
from sheets_kpi.sheets.writer import Written, plan_writes
from sheets_kpi.tabs.columns import PERCENT, Column, Grid, Table

EDITORS = ["sa@x.iam.gserviceaccount.com", "boss@example.com"]


def requests_of(kind: str, requests: list[dict]) -> list[dict]:
    return [r[kind] for r in requests if kind in r]


@pytest.mark.parametrize(
    ("value", "text"), [(0.7, "7/10"), (0.75, "3/4"), (1, "1"), (0, "0"), (1.5, "3/2"), (-2, "-2")]
)
def test_numbers_in_rules_read_the_same_in_every_locale(value, text) -> None:
    assert locale_free(value) == text


@pytest.mark.parametrize(
    ("index", "letters"), [(0, "A"), (3, "D"), (25, "Z"), (26, "AA"), (701, "ZZ")]
)
def test_column_letters(index, letters) -> None:
    assert column_letter(index) == letters


def test_achievement_colours_skip_blank_cells_and_use_no_locale_separators() -> None:
    rules = achievement_rules(Block(1, 3, 9, 4), sheet_id=5, gate=0.7)
    conditions = [r["addConditionalFormatRule"]["rule"]["booleanRule"]["condition"] for r in rules]
    assert {c["type"] for c in conditions} == {"CUSTOM_FORMULA"}
    assert [c["values"][0]["userEnteredValue"] for c in conditions] == [
        "=ISNUMBER(D2)*(D2<7/10)=1",
        "=ISNUMBER(D2)*(D2<1)=1",
        "=ISNUMBER(D2)*(D2>=1)=1",
    ]
    assert [r["addConditionalFormatRule"]["index"] for r in rules] == [0, 1, 2]


def colour_of(value: float, rules: list[dict]) -> str:
    """Which of red / amber / green the first matching rule gives, evaluating its formula."""
    for rule, name in zip(rules, ("red", "amber", "green"), strict=True):
        formula = rule["addConditionalFormatRule"]["rule"]["booleanRule"]["condition"]
        test = formula["values"][0]["userEnteredValue"].split("*(D2")[1].removesuffix(")=1")
        op, bound = ("<", test[1:]) if test.startswith("<") else (">=", test[2:])
        limit = Fraction(bound)
        if (value < limit) if op == "<" else (value >= limit):
            return name
    return ""


@pytest.mark.parametrize(
    ("fact", "plan", "colour"),
    [
        (84.00, 84.15, "green"),  # 99.8 % shows as "100 %"
        (83.5, 84.15, "amber"),  # 99.2 % shows as "99 %"
        (69.7, 100, "amber"),  # 69.7 % shows as "70 %": at the gate
        (69.4, 100, "red"),  # shows as "69 %"
        (100, 100, "green"),
    ],
)
def test_achievement_is_coloured_as_it_is_shown(fact, plan, colour) -> None:
    rules = achievement_rules(Block(1, 3, 9, 4, "0%"), sheet_id=5, gate=0.7)
    formulas = [
        r["addConditionalFormatRule"]["rule"]["booleanRule"]["condition"]["values"][0][
            "userEnteredValue"
        ]
        for r in rules
    ]
    assert formulas == [
        "=ISNUMBER(D2)*(D2<139/200)=1",
        "=ISNUMBER(D2)*(D2<199/200)=1",
        "=ISNUMBER(D2)*(D2>=199/200)=1",
    ]
    assert colour_of(fact / plan, rules) == colour


def test_a_finer_pattern_moves_the_thresholds_less() -> None:
    assert shown_threshold(1, "0.0%") == Fraction(1999, 2000)
    assert shown_threshold(0.7, "0%") == Fraction(139, 200)
    assert shown_threshold(1, "") == 1


def test_tables_give_achievement_colours_their_columns_pattern() -> None:
    grid = Grid()
    grid.table(Table([Column("kpi"), Column("%", PERCENT, achievement=True)], [["a", 0.998]]))
    assert [b.pattern for b in grid.layout("t").achievement] == [PERCENT]


def test_number_formats_frozen_panes_and_widths() -> None:
    layout = TabLayout(
        "t",
        [["a", "b", "c"], [1, 0.5, 1000]],
        frozen_cols=1,
        widths={0: 220, 9: 50},
        formats=[Block(1, 1, 2, 2, "0.0%"), Block(1, 2, 2, 3, '#,##0 "₽"')],
    )
    requests = structure_requests(layout, 1, EDITORS, 0)
    grid = requests_of("updateSheetProperties", requests)[0]["properties"]["gridProperties"]
    assert grid == {"rowCount": 2, "columnCount": 3, "frozenRowCount": 1, "frozenColumnCount": 1}
    formats = [
        r["cell"]["userEnteredFormat"].get("numberFormat")
        for r in requests_of("repeatCell", requests)
    ]
    assert {"type": "PERCENT", "pattern": "0.0%"} in formats
    assert {"type": "NUMBER", "pattern": '#,##0 "₽"'} in formats
    # Every column in runs of one width (a user's resize undone); 9 is off the grid.
    wide, rest = requests_of("updateDimensionProperties", requests)
    assert (wide["range"]["startIndex"], wide["range"]["endIndex"]) == (0, 1)
    assert (wide["properties"], rest["properties"]) == ({"pixelSize": 220}, {"pixelSize": 100})
    assert (rest["range"]["startIndex"], rest["range"]["endIndex"]) == (1, 3)
    (unmerge,) = requests_of("unmergeCells", requests)  # a user's merges go too
    assert unmerge["range"] == {
        "sheetId": 1,
        "startRowIndex": 0,
        "endRowIndex": 2,
        "startColumnIndex": 0,
        "endColumnIndex": 3,
    }
    (protected,) = requests_of("addProtectedRange", requests)
    assert protected["protectedRange"]["editors"] == {"users": EDITORS}
    assert protected["protectedRange"]["warningOnly"] is False


def test_cells_formatted_alike_go_in_one_request_each_field_as_the_last_block_left_it() -> None:
    money = '#,##0 "₽"'
    layout = TabLayout(
        "t",
        [["a", "b", "c", "d"], *[[1, 2, 3, 4]] * 3],
        formats=[
            *[Block(row, col, row + 1, col + 1, money) for row in (1, 2) for col in (1, 2)],
            Block(0, 3, 4, 4, "0%"),  # over the bold header too: both stay
            Block(3, 0, 4, 1, font_size=14),
        ],
    )
    requests = requests_of("repeatCell", structure_requests(layout, 1, EDITORS, 4, fresh=True))
    shapes = {
        (r["range"].get("startRowIndex"), r["range"]["endRowIndex"])
        + (r["range"]["startColumnIndex"], r["range"]["endColumnIndex"], r["fields"])
        for r in requests
    }
    assert shapes == {
        (0, 1, 0, 3, "userEnteredFormat(textFormat,backgroundColor)"),
        (0, 1, 3, 4, "userEnteredFormat(numberFormat,textFormat,backgroundColor)"),
        (1, 3, 1, 3, "userEnteredFormat(numberFormat)"),  # four cells, one request
        (1, 4, 3, 4, "userEnteredFormat(numberFormat)"),
        (3, 4, 0, 1, "userEnteredFormat(textFormat)"),
    }


def test_a_new_tab_gets_only_what_differs_from_a_new_tabs_defaults() -> None:
    layout = TabLayout("t", [["a", "b", "c"], [1, 2, 3]], widths={1: 220})
    fresh = structure_requests(layout, 1, EDITORS, 0, fresh=True)
    rebuilt = structure_requests(layout, 1, EDITORS, 2)
    # No size (addSheet carries it), merges, format reset or default widths to send.
    assert {next(iter(r)) for r in fresh} == {
        "repeatCell",
        "updateDimensionProperties",
        "addProtectedRange",
    }
    assert [w["range"]["startIndex"] for w in requests_of("updateDimensionProperties", fresh)] == [
        1
    ]
    assert len(requests_of("updateDimensionProperties", rebuilt)) == 3
    assert requests_of("unmergeCells", rebuilt) and requests_of("updateSheetProperties", rebuilt)


def test_the_grid_makes_room_for_the_chart_and_blanks_every_cell_of_it() -> None:
    chart = LineChart("weeks", 0, (1,), 0, 3, 0, 3)
    layout = TabLayout("d", [["w", "v"], ["w1", 1], ["w2", 2]], chart=chart)
    assert layout.grid_size() == (18, 11)
    requests = structure_requests(layout, 1, EDITORS, 0)
    assert not requests_of("updateCells", requests)  # values go as RAW arrays
    rows = layout.value_rows()
    assert len(rows) == 18 and {len(r) for r in rows} == {11}
    assert rows[1][:3] == ["w1", 1, ""]
    (added,) = requests_of("addChart", requests)
    assert added["chart"]["position"]["overlayPosition"]["anchorCell"]["columnIndex"] == 3


def sheet(title: str, sheet_id: int, digest: str | None) -> dict:
    metadata = (
        [
            {"metadataId": sheet_id * 10, "metadataKey": MARKER, "metadataValue": "owner"},
            {"metadataId": sheet_id * 10 + 1, "metadataKey": HASH_KEY, "metadataValue": digest},
        ]
        if digest is not None
        else []
    )
    return {
        "properties": {"sheetId": sheet_id, "title": title, "gridProperties": {"rowCount": 5}},
        "developerMetadata": metadata,
    }


def test_a_new_set_of_supervisors_rewrites_the_protected_tabs() -> None:
    layout = TabLayout("t", [["a"], [1]])
    metadata = {"sheets": [sheet("t", 1, layout.structure_digest(EDITORS))]}
    ledger = {"t": Written(1, layout.structure_digest(EDITORS), tuple(layout.block_digests()))}
    same = plan_writes(metadata, [layout], EDITORS, ledger=ledger).report
    changed = plan_writes(metadata, [layout], [*EDITORS, "deputy@example.com"], ledger=ledger)
    assert (same.unchanged, changed.report.structure_written) == (["t"], ["t"])
    assert changed.values == []  # the values stand: only the protection is rebuilt


def test_only_the_changed_block_of_rows_is_sent() -> None:
    from sheets_kpi.sheets.layout import BLOCK_ROWS

    rows = [["day", "calls"]] + [[f"d{i}", i] for i in range(2 * BLOCK_ROWS)]
    layout = TabLayout("data", rows)
    structure = layout.structure_digest(EDITORS)
    ledger = {"data": Written(1, structure, tuple(layout.block_digests()))}
    metadata = {"sheets": [sheet("data", 1, structure)]}
    rows[-1] = [rows[-1][0], -1]
    plan = plan_writes(metadata, [TabLayout("data", rows)], EDITORS, ledger=ledger)
    assert plan.structure == [] and [u.blocks.keys() for u in plan.values] == [{2}]
    (unit,) = plan.values
    assert unit.data[0]["range"] == f"'data'!A{2 * BLOCK_ROWS + 1}"
    assert unit.data[0]["values"] == [[f"d{2 * BLOCK_ROWS - 1}", -1]]
    # A ledger of another tab instance (or structure) counts for nothing: every block goes.
    other = {"data": Written(2, structure, tuple(layout.block_digests()))}
    assert len(plan_writes(metadata, [layout], EDITORS, ledger=other).values) == 3


def test_removals_come_after_the_new_tabs() -> None:
    metadata = {"sheets": [sheet("old", 1, "x"), sheet("Sheet1", 2, None)]}
    plan = plan_writes(metadata, [TabLayout("new", [["a"]])], EDITORS)
    groups, report = plan.structure, plan.report
    assert "addSheet" in groups[0][0] and groups[-1] == [{"deleteSheet": {"sheetId": 1}}]
    assert (report.tabs_created, report.tabs_removed) == (["new"], ["old"])


def test_a_tab_of_an_older_version_is_still_ours_and_gets_rewritten() -> None:
    old = sheet("t", 1, None)
    old["developerMetadata"] = [{"metadataId": 5, "metadataKey": MARKER, "metadataValue": "ab12"}]
    plan = plan_writes({"sheets": [old]}, [TabLayout("t", [["a"]])], EDITORS)
    units, report = plan.structure, plan.report
    assert (report.conflicts, report.tabs_written) == ([], ["t"])
    stamped = {r["createDeveloperMetadata"]["developerMetadata"]["metadataKey"] for r in units[-1]}
    assert stamped == {HASH_KEY, TITLE_KEY}


def test_a_rewrite_drops_the_old_hash_first_so_a_cut_write_is_redone() -> None:
    plan = plan_writes({"sheets": [sheet("t", 1, "old-digest")]}, [TabLayout("t", [["a"]])], [])
    assert plan.structure[0] == [
        {"deleteDeveloperMetadata": {"dataFilter": {"developerMetadataLookup": {"metadataId": 11}}}}
    ]


def test_a_huge_write_is_split_and_each_hash_comes_with_the_tabs_last_requests(
    monkeypatch,
) -> None:
    monkeypatch.setattr(writer, "MAX_BATCH_BYTES", 3_000)
    layouts = [
        TabLayout(f"таблица {i}", [["Иван Петров"] * 4] * 4, formats=[Block(0, 0, 4, 4, "0")] * 9)
        for i in range(6)
    ]
    plan = writer.plan_writes({"sheets": []}, layouts, EDITORS)
    sent = [{"requests": chunk} for chunk in writer.batches(plan.structure)]
    assert len(sent) > 2
    assert all(len(encode(body)) <= 3_000 + len(encode({"requests": []})) for body in sent)
    last_batch: dict[int, int] = {}  # sheetId → the last batch that touches it
    hashed: dict[int, int] = {}  # sheetId → the batch that sets its content hash
    for number, body in enumerate(sent):
        added, owners = set(), set()
        for request in body["requests"]:
            text = json.dumps(request)
            for sheet_id in {int(m) for m in re.findall(r'"sheetId": (\d+)', text)}:
                last_batch[sheet_id] = number
            if "addSheet" in request:
                added.add(request["addSheet"]["properties"]["sheetId"])
            if "createDeveloperMetadata" in request:
                meta = request["createDeveloperMetadata"]["developerMetadata"]
                key, sheet_id = meta["metadataKey"], meta["location"]["sheetId"]
                if key == MARKER:
                    owners.add(sheet_id)
                else:
                    hashed[sheet_id] = number
        assert added <= owners  # a new tab never exists without its owner marker
    assert hashed == last_batch and len(hashed) == 6


def test_values_are_split_by_block_below_the_payload_limit(monkeypatch) -> None:
    from sheets_kpi.sheets.layout import BLOCK_ROWS

    monkeypatch.setattr(writer, "MAX_BATCH_BYTES", 50_000)
    layout = TabLayout("t", [["Иван Петров"] * 8] * (3 * BLOCK_ROWS))
    plan = plan_writes({"sheets": []}, [layout], EDITORS)
    chunks = writer.value_batches(plan.values)
    assert len(chunks) == 3 and all(len(c) == 1 for c in chunks)


def test_bodies_are_compact_utf8() -> None:
    assert encode({"v": "Иван", "n": [1, 2]}) == '{"v":"Иван","n":[1,2]}'.encode()


def test_columns_are_as_wide_as_their_longest_cell_within_bounds() -> None:
    from sheets_kpi.sheets.layout import fitted_widths

    layout = TabLayout(
        "t",
        [
            ["Период 2026-11: утверждено. A note as long as a sentence runs over the columns."],
            ["Менеджер", "Бонус", "x"],
            ["Анна", 61050, None],
            ["Бонус при текущем темпе", 0.921, "first line\nsecond, longer line"],
            ["z", "", "y" * 400],
        ],
    )
    # 14 + 7 × chars: "Бонус при текущем темпе" 23 → 175; "61,050 ₽" 8 → 70; capped at 420
    assert fitted_widths(layout) == {0: 175, 1: 70, 2: 420}
    assert fitted_widths(TabLayout("t", [["a", 1]])) == {0: 50, 1: 50}  # at least 50


def test_values_are_typed_raw_cells_at_the_precision_shown() -> None:
    layout = TabLayout(
        "t",
        [
            ["kpi", "share", "money", "flag", "note"],
            ["a", 0.33871, 1234.567, True, '=IMPORTXML("http://x")'],
            ["b", 0.33871, 3.0, False, None],
        ],
        formats=[Block(1, 1, 3, 2, "0%"), Block(1, 2, 3, 3, '#,##0 "₽"')],
    )
    rows = layout.value_rows()
    assert rows[1] == ["a", 0.34, 1234.57, True, '=IMPORTXML("http://x")']  # text stays text
    assert rows[2] == ["b", 0.34, 3, False, ""]  # "" clears the cell
    moved = TabLayout("t", [r[:] for r in layout.rows], formats=layout.formats)
    moved.rows[1][1] = 0.33872  # still "34 %": no change a person could see
    assert moved.block_digests() == layout.block_digests()


def test_values_and_their_block_hashes_come_in_one_pass_and_stay_as_ledgers_hold_them() -> None:
    from sheets_kpi.sheets.layout import BLOCK_ROWS

    rows = [["day", "share", "at"]]
    rows += [[f"d{i}", i / 7, f"12:{i % 60:02d}"] for i in range(BLOCK_ROWS + 10)]
    layout = TabLayout(
        "t",
        rows,
        # The second block of patterns overlaps the first across the boundary of two blocks
        # of rows: there the last one wins.
        formats=[
            Block(1, 1, BLOCK_ROWS + 5, 2, "0.0%"),
            Block(BLOCK_ROWS - 2, 1, BLOCK_ROWS + 2, 2, "0"),
        ],
        volatile_columns=(2,),
        volatile_cells=((BLOCK_ROWS + 3, 0),),
    )
    values, digests = layout.hashed_values()
    assert values == layout.value_rows() and digests == layout.block_digests(values)
    assert [row[1] for row in values[BLOCK_ROWS - 3 : BLOCK_ROWS + 4]] == [
        70.857, 71, 71, 71, 71, 71.571, 71.714
    ]  # fmt: skip
    # The hashes a ledger already holds: a new release must not rewrite every block once.
    assert digests == ["9f8da651ae9b00c52363", "18c90d8de4041c01a2e0"]
    assert layout.structure_digest(["a@x"]) == "63728a4d05e2c2545ceb"
    moved = [row[:] for row in rows]
    moved[BLOCK_ROWS + 3][0] = "as of 12:30"  # volatile cell
    moved[7][2] = "13:00"  # volatile column
    assert TabLayout("t", moved, **_same(layout)).block_digests() == digests


def _same(layout: TabLayout) -> dict:
    return {
        "formats": layout.formats,
        "volatile_columns": layout.volatile_columns,
        "volatile_cells": layout.volatile_cells,
    }


def test_every_kind_of_cell_becomes_its_raw_value() -> None:
    import math
    from datetime import date

    import numpy as np

    from sheets_kpi.sheets.layout import MAX_CELL_CHARS, raw_value

    cases = [
        ("text", "text"),
        ("", ""),
        (None, ""),
        (3, 3),
        (3.0, 3),
        (-0.0, 0),
        (2.5, 2.5),
        (math.nan, ""),
        (-math.inf, ""),
        (True, True),
        (np.float64(4.0), 4),
        (np.float64(0.25), 0.25),
        (np.float64("nan"), ""),
        (np.int64(7), 7),
        (np.bool_(False), False),
        (date(2026, 11, 24), "2026-11-24"),
    ]
    for value, raw in cases:
        assert (raw_value(value), type(raw_value(value))) == (raw, type(raw)), value
    cut = raw_value("x" * (MAX_CELL_CHARS + 1))
    assert len(cut) == MAX_CELL_CHARS and cut.endswith("shown]")


def test_widths_measure_equal_values_of_other_types_apart() -> None:
    from decimal import Decimal

    from sheets_kpi.sheets.layout import fitted_widths

    # 1 == Decimal("1.000000000"), but the cells show "1 ₽" and "1.000000000"; a short row
    # counts for the cells it has.
    layout = TabLayout("t", [["a", 1, "x"], ["b", Decimal("1.000000000")], ["c", None, "y" * 20]])
    assert fitted_widths(layout) == {0: 50, 1: 14 + 7 * 11, 2: 14 + 7 * 20}


def test_kept_hashes_are_those_of_an_equal_layout_and_worked_out_again_for_any_other() -> None:
    def tab(value: object) -> TabLayout:
        return TabLayout("Итоги", [["Менеджер", "Выручка"], ["Анна", value]])

    hashes = KeptHashes()
    first = hashes.of(tab(120.5), ["boss@example.com"])
    assert first == Hashed(
        tab(120.5).structure_digest(["boss@example.com"]), *tab(120.5).hashed_values()
    )
    assert hashes.of(tab(120.5), ["boss@example.com"]) is first  # a new, equal layout
    moved = hashes.of(tab(121.0), ["boss@example.com"])
    assert moved.digests != first.digests and moved.cells[1] == ["Анна", 121]
    other_editors = hashes.of(tab(121.0), ["boss@example.com", "deputy@example.com"])
    assert other_editors.structure != moved.structure
    nan = hashes.of(tab(float("nan")), [])
    assert hashes.of(tab(float("nan")), []) is nan  # NaN != NaN, but both are written ""
    assert hashes.of(tab(True), []).cells[1] == ["Анна", True]
    assert type(hashes.of(tab(1), []).cells[1][1]) is int  # True == 1, but written apart
