"""Plan the writes of output tabs: structure for `spreadsheets.batchUpdate`, values by block
for `values.batchUpdate` (the gateway sends them).

Only tabs carrying our owner marker are ever changed or removed; a tab with the same title that
the tool did not create is left alone and reported. A tab's structure (grid, formats, rules,
chart, protection) carries a hash marker and is rebuilt only when that hash changes; its old
hash goes in the first batch that touches the tab and the new one in the last, so a structure
write cut short leaves no hash and the next cycle rebuilds the tab. Values go by blocks of
BLOCK_ROWS rows: the `Ledger` (kept in the store) says which block hashes each tab holds, and
only the blocks that differ are sent. A ledger entry counts only for the tab instance and
structure it was written under, and it is updated only after Google accepted the values, so a
values write that failed or was cut short is simply redone. A tab of ours that a user renamed
is released (our markers removed), never deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sheets_kpi.sheets.layout import BLOCK_ROWS, KeptHashes, TabLayout
from sheets_kpi.sheets.render import (
    HASH_KEY,
    MARKER,
    TITLE_KEY,
    cleanup_requests,
    encode,
    forget_requests,
    grid_properties,
    marker_request,
    metadata_of,
    sheet_id_for,
    stamp_requests,
    structure_requests,
    value_ranges,
)

U = TypeVar("U")
#: Google rejects bodies above 10 MiB ("Request payload size exceeds the limit: 10485760
#: bytes"); split below that.
MAX_BATCH_BYTES = 9_000_000

#: Requests that must share a batch (a new tab and its owner marker; a hash swap).
Unit = list[dict[str, Any]]


@dataclass(frozen=True)
class Written:
    """What one of our tabs holds: its sheet id, the structure hash it was written under, a
    hash per block of rows ("" for a block not known to be written) and an 8-byte hash per row
    (`TabLayout.row_digests`; those of a block count only while its block hash is known)."""

    sheet_id: int
    structure: str
    blocks: tuple[str, ...]
    rows: bytes = b""


#: Tab title → what it holds, for one spreadsheet.
Ledger = dict[str, Written]


@dataclass
class ValueUnit:
    """One block of one tab for `values.batchUpdate` (`data`: its ranges, the rows in it that
    differ from what the tab holds, or the whole block; none for a block of a new tab with
    nothing in it), with the hash it brings and its rows' hashes (`rows`); the tab's `sheet_id`
    and each range's first row (`starts`, 0-based) place the same cells in an `updateCells`. A
    block's ranges land together or not at all."""

    title: str
    data: list[dict[str, Any]]
    blocks: dict[int, str]
    sheet_id: int
    starts: list[int]
    rows: bytes = b""


@dataclass
class Plan:
    structure: list[Unit]
    values: list[ValueUnit]
    #: The ledger once every structure and values batch has landed; values units fill it in.
    ledger: Ledger
    report: WriteReport


@dataclass
class WriteReport:
    rows_written: int = 0
    tabs_written: list[str] = field(default_factory=list)
    tabs_created: list[str] = field(default_factory=list)
    tabs_removed: list[str] = field(default_factory=list)
    #: Our tabs a user renamed: no longer ours, left as they are.
    tabs_released: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    #: Blocks of rows sent as values, and tabs whose structure was rebuilt.
    blocks_written: int = 0
    structure_written: list[str] = field(default_factory=list)


def owned(sheet: dict[str, Any]) -> bool:
    return bool(metadata_of(sheet, MARKER))


def tabs_by_title(metadata: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Tabs by case-folded title: Sheets titles are unique ignoring case (`итоги — продажи`
    is the tab `Итоги — Продажи`)."""
    return {s["properties"]["title"].casefold(): s for s in metadata.get("sheets", [])}


def digest_of(sheet: dict[str, Any]) -> str | None:
    hashes = metadata_of(sheet, HASH_KEY)
    return str(hashes[0].get("metadataValue", "")) if len(hashes) == 1 else None


def plan_writes(
    metadata: dict[str, Any],
    layouts: list[TabLayout],
    editors: list[str],
    force: bool = False,
    prune: bool = True,
    ledger: Ledger | None = None,
    hashes: KeptHashes | None = None,
) -> Plan:
    """The requests that bring the spreadsheet to `layouts`, in order (pure but for `hashes`,
    those of the layouts of the cycle before, which it updates).

    `force` rewrites everything even where the hashes say unchanged: a supervisor may edit a
    protected tab, and the nightly cycle puts it right. Without `prune` our other tabs stay (a
    preview tab is written beside the live ones).
    """
    hashes = hashes or KeptHashes()
    report = WriteReport()
    known = ledger or {}
    sheets = tabs_by_title(metadata)
    taken = {s["properties"]["sheetId"] for s in sheets.values()}
    wanted = {layout.title.casefold() for layout in layouts}
    units: list[Unit] = []
    values: list[ValueUnit] = []
    after: Ledger = {}
    for layout in layouts:
        hashed = hashes.of(layout, editors)
        structure = hashed.structure
        sheet = sheets.get(layout.title.casefold())
        if sheet is not None and not owned(sheet):
            report.conflicts.append(layout.title)
            continue
        if sheet is not None and sheet["properties"]["title"] != layout.title:
            units.append([rename_request(sheet["properties"]["sheetId"], layout.title)])
        held: tuple[str, ...] = ()
        held_rows = b""
        if sheet is None:
            sheet_id = sheet_id_for(layout.title, taken)
            taken.add(sheet_id)
            grid = grid_properties(layout)  # its size and panes: nothing to update after
            add = {
                "properties": {"sheetId": sheet_id, "title": layout.title, "gridProperties": grid}
            }
            units.append([{"addSheet": add}, marker_request(sheet_id, MARKER, "owner")])
            report.tabs_created.append(layout.title)
            existing_rows = 0
        else:
            sheet_id = sheet["properties"]["sheetId"]
            existing_rows = sheet["properties"]["gridProperties"]["rowCount"]
            entry = known.get(layout.title)
            marked = digest_of(sheet)
            if entry and (entry.sheet_id, entry.structure) == (sheet_id, marked) and not force:
                held, held_rows = entry.blocks, entry.rows
        if sheet is None or digest_of(sheet) != structure or force:
            if sheet is not None:
                # The old hash goes first: a write cut short leaves no hash, so the next cycle
                # rebuilds the tab instead of trusting a half-written one.
                forget = forget_requests(sheet, (HASH_KEY, TITLE_KEY))
                units += [forget] if forget else []
                units += [[r] for r in cleanup_requests(sheet)]
            requests = structure_requests(
                layout, sheet_id, editors, existing_rows, sheet is None, hashed.widths
            )
            units += [[r] for r in requests]
            units.append(stamp_requests(sheet_id, structure, layout.title))
            report.structure_written.append(layout.title)
        cells, digests = hashed.cells, hashed.digests
        changed = [i for i, d in enumerate(digests) if i >= len(held) or held[i] != d]
        kept = tuple("" if i in changed else d for i, d in enumerate(digests))
        after[layout.title] = Written(sheet_id, structure, kept, held_rows[: 8 * len(cells)])
        for i in changed:
            first, end = i * BLOCK_ROWS, min(len(cells), (i + 1) * BLOCK_ROWS)
            rows = layout.row_digests(first, cells[first:end])
            holds = i < len(held) and held[i] != ""  # the tab holds a known block there
            spans = _moved(first, rows, held_rows) if holds else [(first, end)]
            ranges = value_ranges(layout, spans, cells, blank=sheet is None)
            sent = [(at, r) for (at, _), r in zip(spans, ranges, strict=True) if r["values"]]
            data, starts = [r for _, r in sent], [at for at, _ in sent]
            values.append(ValueUnit(layout.title, data, {i: digests[i]}, sheet_id, starts, rows))
            report.rows_written += sum(len(piece["values"]) for piece in data)  # as sent
        report.blocks_written += len(changed)
        if changed or layout.title in report.structure_written:
            report.tabs_written.append(layout.title)
        else:
            report.unchanged.append(layout.title)
    # Removals go last: a spreadsheet may never be left without any tab, even for a moment.
    for folded, sheet in sheets.items() if prune else ():
        if not owned(sheet) or folded in wanted:
            continue
        title = sheet["properties"]["title"]
        written_as = [str(m.get("metadataValue")) for m in metadata_of(sheet, TITLE_KEY)]
        if written_as and title not in written_as:  # renamed by a user, e.g. an archive copy
            units.append(forget_requests(sheet, (MARKER, HASH_KEY, TITLE_KEY)))
            report.tabs_released.append(title)
        else:
            units.append([{"deleteSheet": {"sheetId": sheet["properties"]["sheetId"]}}])
            report.tabs_removed.append(title)
    return Plan(units, values, after, report)


def _moved(first: int, rows: bytes, held: bytes) -> list[tuple[int, int]]:
    """The runs of rows (first, end) from row `first` whose hashes (`rows`, 8 bytes each)
    differ from those the tab holds (`held`, from its first row): a row past them differs."""
    runs: list[tuple[int, int]] = []
    for at in range(first, first + len(rows) // 8):
        offset = 8 * (at - first)
        if rows[offset : offset + 8] != held[8 * at : 8 * at + 8]:
            if runs and runs[-1][1] == at:
                runs[-1] = (runs[-1][0], at + 1)
            else:
                runs.append((at, at + 1))
    return runs


def landed(ledger: Ledger, units: list[ValueUnit]) -> None:
    """Record in `ledger` the blocks of `units`, which Google has accepted, and their rows'
    hashes."""
    for unit in units:
        entry = ledger.get(unit.title)
        if entry is None:
            continue
        blocks = list(entry.blocks)
        rows = bytearray(entry.rows)
        for index, digest in unit.blocks.items():
            blocks[index] = digest
            offset = 8 * index * BLOCK_ROWS
            rows.extend(bytes(max(0, offset - len(rows))))  # rows of blocks not known yet
            rows[offset : offset + len(unit.rows)] = unit.rows
        ledger[unit.title] = Written(entry.sheet_id, entry.structure, tuple(blocks), bytes(rows))


def rename_request(sheet_id: int, title: str) -> dict[str, Any]:
    """Our tab renamed by a user only in case: its title back, keeping it and its settings."""
    return {
        "updateSheetProperties": {
            "properties": {"sheetId": sheet_id, "title": title},
            "fields": "title",
        }
    }


def fits(body: bytes) -> bool:
    """An encoded body can go in one request."""
    return len(body) <= MAX_BATCH_BYTES


def batches(units: list[Unit]) -> list[list[dict[str, Any]]]:
    """Whole units in order, a new batch when the body would pass MAX_BATCH_BYTES."""
    packed = _packed(units, lambda unit: sum(len(encode(r)) + 1 for r in unit))
    return [[request for unit in chunk for request in unit] for chunk in packed]


def value_batches(units: list[ValueUnit]) -> list[list[ValueUnit]]:
    """Value units in order, a new `values.batchUpdate` when the body would pass the limit."""
    return _packed(units, lambda unit: sum(len(encode(d)) + 1 for d in unit.data))


def _packed(units: list[U], size_of: Callable[[U], int]) -> list[list[U]]:
    chunks: list[list[Any]] = []
    current: list[Any] = []
    size = 0
    for unit in units:
        length = size_of(unit)
        if current and size + length > MAX_BATCH_BYTES:
            chunks.append(current)
            current, size = [], 0
        current.append(unit)
        size += length
    if current:
        chunks.append(current)
    return chunks
