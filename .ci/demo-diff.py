"""Cell-for-cell comparison of the spreadsheets two demos left (`--out A` and `--out B`).

    python .ci/demo-diff.py demo-before demo-after

Compares every tab's values, formats, rules, merges and metadata in `sheets_state.json`, after
removing what differs between two runs by design: the amoCRM emulator's port in deal links (and
the content hashes that include them), the run log's durations and the files' times. Prints each
difference and exits 1 if there is any.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from sheets_kpi.locale import label
from sheets_kpi.sheets.render import HASH_KEY

PORT = re.compile(r"http://127\.0\.0\.1:\d+/")
LOG_TITLES = {label("ru", "tab.log"), label("en", "tab.log")}


def normalised(folder: str) -> dict[str, Any]:
    books = json.loads((Path(folder) / "sheets_state.json").read_text(encoding="utf-8"))
    for book in books.values():
        book.pop("created", None)
        book.pop("modified", None)
        for sheet in book["sheets"]:
            for meta in sheet.get("extras", {}).get("developerMetadata", []):
                if meta.get("metadataKey") == HASH_KEY:
                    meta["metadataValue"] = "…"
            cells = sheet.get("cells", {})
            for key, value in cells.items():
                if isinstance(value, str):
                    cells[key] = PORT.sub("http://127.0.0.1:PORT/", value)
            if sheet["properties"]["title"] in LOG_TITLES:
                for key in [k for k in cells if k.endswith(",1") and not k.startswith("0,")]:
                    cells[key] = "seconds"
    return books


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    if type(a) is not type(b):
        return [f"{path}: {a!r} ≠ {b!r}"]
    if isinstance(a, dict):
        found = []
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                found.append(f"{path}/{key}: only in {'the second' if key in b else 'the first'}")
            else:
                found += differences(a[key], b[key], f"{path}/{key}")
        return found
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items ≠ {len(b)}"]
        pairs = enumerate(zip(a, b, strict=True))
        return [d for i, (x, y) in pairs for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} ≠ {b!r}"]


def main() -> int:
    first, second = sys.argv[1:3]
    found = differences(normalised(first), normalised(second))
    for line in found:
        print(line)
    print(f"{len(found)} difference(s)")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
