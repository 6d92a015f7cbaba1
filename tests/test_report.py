"""Reports: rendered from the run directory, re-analysable with the same verdicts."""

import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import REPO, made_once, only_known_bugs


def harness(*args):
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="session")
def stored_runs(tmp_path_factory):
    """One passing and one violated run of the payments scenario, made once for every
    worker: copy one before changing it."""

    def make(root):
        broken = "payments=harness.bundled.services.broken.payments_random_key:app"
        runs = (("good",), ("bad", "--app", broken))
        with ThreadPoolExecutor(2) as pool:  # the two at once
            good, bad = pool.map(
                lambda r: harness("run", "payments", "--seed", "21", "--report-dir",
                                  str(root / r[0]), *r[1:]),
                runs,
            )  # fmt: skip
        assert good.returncode == 0, good.stdout
        assert bad.returncode == 1, bad.stdout

    root = made_once(tmp_path_factory, "stored_runs", make)
    return [next(p for p in (root / k).iterdir() if p.is_dir()) for k in ("good", "bad")]


def test_reanalysis_gives_the_same_verdicts(stored_runs, tmp_path):
    for run_dir, code in zip(stored_runs, (0, 1), strict=True):
        run_dir = shutil.copytree(run_dir, tmp_path / run_dir.parent.name)
        before = json.loads((run_dir / "results.json").read_text())
        (run_dir / "index.html").unlink()
        out = harness("report", str(run_dir))
        assert out.returncode == code, out.stdout + out.stderr
        after = json.loads((run_dir / "results.json").read_text())
        assert after["verdicts"] == before["verdicts"]
        assert after["status"] == before["status"]
        assert (run_dir / "index.html").is_file()


def test_report_shows_verdicts_evidence_and_reproduce_command(stored_runs):
    good, bad = ((d / "index.html").read_text() for d in stored_runs)
    assert "no double charge" in good and "0 duplicate charges" in good
    assert "restate-chaos run payments --seed 21" in good
    assert "failed" in bad and "effective charges" in bad and "counterexample" in bad
    assert "Restate journal of invocation" in bad and "Command: Run" in bad
    import re

    assert not re.search(r"""(src|href)=["']?(https?:)?//""", good)  # nothing to fetch


@pytest.mark.slow  # a whole scenario run or more: handed out early
def test_report_shows_timers_surviving_a_kill_inside_their_wait(tmp_path):
    out = harness("run", "payment_signals", "--seed", "21", "--report-dir", str(tmp_path))
    (run_dir,) = (p for p in tmp_path.iterdir() if p.is_dir())
    results = json.loads((run_dir / "results.json").read_text())
    # restate#4566 (an awakeable's completion dropped at a restart) fails a payment at times
    assert out.returncode == 0 or only_known_bugs(results), out.stdout
    verdicts = results["verdicts"]
    (timed,) = (v for v in verdicts if v["waits"])
    assert timed["stats"]["waits_spanning_faults"] >= 1  # a kill landed inside a wait
    assert all(a < b for a, b in timed["waits"])
    html = (run_dir / "index.html").read_text()
    assert f"Durable waits: {timed['name']}" in html
    assert f"{timed['stats']['waits_spanning_faults']} of them were pending while a fault" in html
    assert html.count('<div class="chart waits"><svg') == 1


def test_report_of_something_that_is_not_a_run_is_a_clear_error(tmp_path):
    out = harness("report", str(tmp_path))
    assert out.returncode == 2
    assert "is not a run directory" in out.stderr


# -- in a real browser ----------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = REPO / "reports" / "screenshots"


def ensure_chromium() -> str:
    """Debian's chromium; installed here when absent (the machine has apt, not a display)."""
    import shutil

    found = shutil.which("chromium")
    if found:
        return found
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        subprocess.run(cmd, capture_output=True, timeout=900)
    found = shutil.which("chromium")
    if not found:
        pytest.fail(
            "chromium is not installed and `apt-get install chromium` failed: "
            "install Debian's chromium package to run the browser tests"
        )
    return found


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    path = ensure_chromium()
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=path,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


def load(browser, path, shot):
    """Open a file; returns (page, console errors, requests that tried to leave the file)."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors, outside = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(path.as_uri())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / shot), full_page=True)
    return page, errors, outside


def test_report_in_a_browser(browser, stored_runs):
    for run_dir, held in zip(stored_runs, (True, False), strict=True):
        page, errors, outside = load(
            browser, run_dir / "index.html", f"report-{'passed' if held else 'failed'}.png"
        )
        assert errors == [] and outside == []
        cards = page.locator(".card.guarantee")
        assert cards.count() == len(json.loads((run_dir / "results.json").read_text())["verdicts"])
        assert page.locator("#timeline svg").count() == 1
        assert page.locator("#throughput svg").count() == 1
        headline = page.locator("#headline").inner_text()
        if held:
            assert headline.startswith("All 7 guarantees held")  # 5 + determinism, liveness
            assert page.locator(".card.v-false").count() == 0
        else:
            assert "VIOLATED" in headline
            link = page.locator(".card.v-false a").first
            target = link.get_attribute("href")
            assert page.locator(target).count() == 1  # the card links to its counterexamples
        page.close()


def test_dashboard_in_a_browser(browser, stored_runs):
    page, errors, outside = load(browser, stored_runs[1].parent / "index.html", "dashboard.png")
    assert errors == [] and outside == []
    assert page.locator("section.scenario#s-payments").count() == 1
    assert page.locator(".badge.failed").count() == 1
    href = page.locator("section.scenario a").first.get_attribute("href")
    assert (stored_runs[1].parent / href).is_file()
    page.close()


def test_reanalysis_sees_the_parameters_the_run_had():
    """A run at --scale 2 (or with --param) expects what its parameters said: the checks
    read them from run.json (Params.of), so a re-analysis judges with the run's values and
    no module is touched."""
    from types import SimpleNamespace as Data  # what Params.of reads of a RunData

    from harness.bundled.scenarios import scenario_smoke as smoke

    data = Data(manifest={"params": {"OPS": 1000, "KEYS": 40, "GONE": 1}})
    assert (smoke.Params.of(data).OPS, smoke.Params.of(data).KEYS) == (1000, 40)
    assert smoke.Params().OPS == 500 and smoke.Params.build({}, scale=2).OPS == 1000
    assert smoke.Params.of(Data(manifest={})) == smoke.Params()


def test_report_says_where_each_fault_landed_and_how_fast_work_recovered(stored_runs, tmp_path):
    import shutil

    run_dir = shutil.copytree(stored_runs[0], tmp_path / "run")
    html = (run_dir / "index.html").read_text()
    assert "window faults landed in their window" in html  # payments' event-window kills
    assert "first request in flight answered" in html
    # per fault, what the run measured: serving again (a server: every partition led) and
    # the whole unavailability; and the harness's own health
    assert "serving (every partition led) after" in html and "s in all" in html
    # where in each handler's journal the faults landed, and what no fault reached
    assert 'id="coverage"' in html and "Payments/create" in html and "Command: Run charge" in html
    assert "event loop lag p50" in html
    results = json.loads((run_dir / "results.json").read_text())
    assert results["stats"]["recovery"]["kill service"]["n"] >= 1
    # a window kill that came too late is reported as missed, in the table and the verdict
    lines = (run_dir / "history.jsonl").read_text().splitlines()
    late = next(i for i, line in enumerate(lines) if '"window_ms"' in line)
    record = json.loads(lines[late])
    record.update(landed=False, missed="acted 512 ms after its event, outside its 300 ms window")
    lines[late] = json.dumps(record)
    (run_dir / "history.jsonl").write_text("\n".join(lines) + "\n")
    harness("report", str(run_dir))
    html = (run_dir / "index.html").read_text()
    assert '<span class="missed">missed</span>: acted 512 ms after its event' in html
    vacuity = next(
        v
        for v in json.loads((run_dir / "results.json").read_text())["verdicts"]
        if v["id"] == "vacuity"
    )
    assert vacuity["stats"]["window_faults_landed"] == vacuity["stats"]["window_faults"] - 1


def test_a_run_with_an_adapter_is_reanalysed_from_another_directory(tmp_path):
    """The checks of a run whose scenario module is not importable by name here are loaded
    from their file; the adapter recorded with the run (a subclass of the installed
    scenario's contract) is still recognised as one of its contract."""
    from harness.checkers.data import RunData
    from harness.report.analyze import load_checks
    from tests.conftest import REPO

    checks = load_checks("nowhere.scenario_sync_async:checks",
                         str(REPO / "scenarios" / "scenario_sync_async.py"))  # fmt: skip
    (tmp_path / "my_adapter.py").write_text(
        "from harness.bundled.scenarios.scenario_sync_async import UploadContract\n\n\n"
        "class Mine(UploadContract):\n    pass\n"
    )
    data = RunData(tmp_path, {"adapters": {"upload": "my_adapter:Mine"},
                              "app_paths": [str(tmp_path)]}, [], {}, [], [])  # fmt: skip
    contract = data.contract("upload", checks.__globals__["UploadContract"])
    assert type(contract).__name__ == "Mine"
