"""The office TV page (SPEC §13): the server's answers, and the page in a real headless browser
(Debian's `chromium`) against the data a demo's cycles wrote next to their store."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from sheets_kpi.demo import run_demo
from sheets_kpi.tv.server import TvServer, page
from sheets_kpi.tv.snapshot import Snapshot, SnapshotFile, snapshot_path, write_snapshot
from tests.conftest import NOW_AT, ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium on this machine (Debian: apt-get install chromium): "
    "the TV page's browser test is skipped",
)
WAITING = "waiting for the first cycle"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """A demo's folder: its cycles wrote the TV data next to the store."""
    out = tmp_path_factory.mktemp("tv") / "demo"
    run_demo(ROOT / "config.yaml", 4, 1, 2, out, NOW_AT, echo=lambda *_: None)
    return out


@pytest.fixture
def server(tmp_path) -> Iterator[tuple[TvServer, Path]]:
    path = tmp_path / "store.db.tv.json"
    tv = TvServer(SnapshotFile(path).read, WAITING, port=0).start()
    yield tv, path
    tv.stop()


# --- the server ---------------------------------------------------------------------------


def test_the_server_serves_the_page_and_the_last_snapshot_read_only(server) -> None:
    tv, path = server
    assert tv.url.startswith("http://127.0.0.1:")  # loopback unless told otherwise
    home = requests.get(tv.url, timeout=10)
    assert home.status_code == 200 and home.headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in home.headers["Content-Security-Policy"]
    assert requests.get(tv.url + "api/version", timeout=10).json() == {"version": None}
    waiting = requests.get(tv.url + "api/data", timeout=10)
    assert waiting.status_code == 503 and waiting.json() == {"error": WAITING}

    write_snapshot(path, {"period": "2026-11"})
    first = requests.get(tv.url + "api/version", timeout=10).json()["version"]
    data = requests.get(tv.url + "api/data", timeout=10)
    assert data.json() == {"period": "2026-11"} and data.headers["ETag"] == f'"{first}"'
    write_snapshot(path, {"period": "2026-12"})  # the next cycle
    assert requests.get(tv.url + "api/version", timeout=10).json()["version"] != first

    head = requests.head(tv.url + "api/data", timeout=10)
    assert head.status_code == 200 and head.content == b"" and int(head.headers["Content-Length"])
    for method in ("POST", "PUT", "DELETE", "PATCH", "PROPFIND"):
        refused = requests.request(method, tv.url + "api/data", timeout=10)
        assert refused.status_code == 405 and refused.headers["Allow"] == "GET, HEAD"
    assert requests.get(tv.url + "favicon.ico", timeout=10).status_code == 404
    assert not list(path.parent.glob("*.tmp"))  # written whole, then renamed


def test_the_page_loads_nothing_from_elsewhere() -> None:
    html = page().decode()
    assert not re.search(r"(src|href)\s*=|url\(|@import|https?://", html)


@pytest.mark.slow
def test_every_cycle_writes_the_tv_data_beside_the_store(demo) -> None:
    data = json.loads(snapshot_path(demo / "sheets_kpi.db").read_text(encoding="utf-8"))
    assert data["period"] == "2026-11" and data["as_of"] == "данные на 14:06"  # 11:06 UTC
    assert [d["id"] for d in data["departments"]] == ["leadgen", "sales", "accounts", "quality"]
    assert "₽" not in json.dumps(data, ensure_ascii=False)  # tv.show_money is off by default


# --- the page in a browser ----------------------------------------------------------------


def dump_dom(url: str, tmp_path: Path, seconds: float) -> str:
    """The page's DOM after `seconds` of the page's own (virtual) time: chromium runs its
    timers at once, so a poll every 10 s takes no 10 s here."""
    out = tmp_path / f"dom-{time.monotonic_ns()}.html"
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "FAKETIME")}
    with out.open("wb") as stdout:
        browser = subprocess.Popen(
            [
                str(CHROMIUM),
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                f"--user-data-dir={tmp_path / 'profile'}",
                f"--virtual-time-budget={int(seconds * 1000)}",
                "--window-size=1920,1080",
                "--dump-dom",
                url,
            ],
            stdout=stdout,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        deadline = time.monotonic() + 120
        while browser.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if browser.poll() is None:
            browser.kill()
            browser.wait()
            pytest.fail(f"chromium did not finish loading {url} in 120 s")
    return out.read_text(encoding="utf-8")


def visible(dom: str) -> str:
    """The text of the DOM, tags and the script left out."""
    body = re.sub(r"<script.*?</script>|<style.*?</style>", "", dom, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


@pytest.mark.slow
@needs_chromium
def test_the_tv_command_shows_the_demo_in_a_browser(demo, tmp_path) -> None:
    settings = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    settings["store"] = str(demo / "sheets_kpi.db")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    command = [sys.executable, "-m", "sheets_kpi", "--config", str(config), "tv", "--port", "0"]
    tv = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env={**os.environ})
    try:
        assert tv.stdout is not None
        said = tv.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", said)
        assert url, said
        dom = dump_dom(url.group(0), tmp_path, seconds=3)
    finally:
        tv.terminate()
        tv.wait()
        if tv.stdout is not None:
            tv.stdout.close()
    data = json.loads(snapshot_path(demo / "sheets_kpi.db").read_text(encoding="utf-8"))
    text = visible(dom)
    first = data["departments"][0]
    assert first["title"] in text and "данные на 14:06" in text
    assert dom.count('class="slide active"') == 1
    assert re.search(r'class="slide active" data-kind="leaderboard" data-department="leadgen"', dom)
    for dept in data["departments"]:  # every department has its slides, one shown at a time
        assert f'data-kind="leaderboard" data-department="{dept["id"]}"' in dom
        for manager in dept["leaderboard"]:
            assert manager["manager"] in text
        assert dept["average"]["score"] in text
    assert "Рейтинг" in text and "Место" in text and "Балл" in text
    assert "₽" not in text and "Бонус" not in text  # no money by default
    assert 'id="celebration" class="show"' not in dom  # the first data is no news


@pytest.mark.slow
@needs_chromium
def test_a_new_win_between_two_cycles_takes_the_whole_screen(demo, tmp_path) -> None:
    first = snapshot_path(demo / "sheets_kpi.db").read_bytes()
    data = json.loads(first)
    sales = next(d for d in data["departments"] if d["id"] == "sales")
    winner = sales["leaderboard"][-1]["manager"]
    after = copy.deepcopy(data)
    news = {"id": "99999999", "manager": winner, "lead": "ООО «Новый клиент»: SEO"}
    news |= {"department": "Продажи", "text": f"{winner}: победа — ООО «Новый клиент»: SEO"}
    next(d for d in after["departments"] if d["id"] == "sales")["wins_today"].insert(0, news)
    cycles = [Snapshot(first, "one"), Snapshot(json.dumps(after).encode(), "two")]
    reads = []

    def read() -> Snapshot:
        """The page's first read gets the first cycle's data, every later one the next's."""
        reads.append(1)
        return cycles[min(len(reads), 2) - 1]

    tv = TvServer(read, WAITING, port=0).start()
    try:
        dom = dump_dom(tv.url, tmp_path, seconds=16)  # a poll at 10 s, 12 s of celebration
    finally:
        tv.stop()
    assert len(reads) >= 3  # the data, then a poll of the version and the new data
    celebration = re.search(r'<div id="celebration" class="show">(.*?)</div>\s*<script', dom, re.S)
    assert celebration, "no celebration on the screen"
    shown = visible(celebration.group(1))
    assert "Новая победа!" in shown and winner in shown and "Новый клиент" in shown
    assert "₽" not in shown


# --- the command ----------------------------------------------------------------------------


def test_the_tv_command_says_when_its_port_is_taken_and_refuses_now(tmp_path, capsys) -> None:
    from sheets_kpi.cli import main

    settings = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    settings["store"] = str(tmp_path / "store.db")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--config", str(config), "tv", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"TV page: cannot listen on 127.0.0.1:{port}" in err
    assert main(["--config", str(config), "--now", NOW_AT.isoformat(), "tv"]) == 2
    assert "--now is not for tv" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("host", "money", "warned"),
    [
        ("127.0.0.1", False, None),
        ("127.0.0.2", True, None),
        ("::1", True, None),
        ("localhost", True, None),
        ("0.0.0.0", False, "but no money"),
        ("192.0.2.10", True, "and the money (tv.show_money)"),
        ("tv.office.lan", False, "but no money"),
    ],
)
def test_a_tv_page_open_to_the_network_is_warned_about(host, money, warned) -> None:
    from sheets_kpi.cli import tv_exposure

    said = tv_exposure(host, money)
    if warned is None:
        assert said is None
    else:
        assert said is not None and f"listens on {host}" in said and warned in said
