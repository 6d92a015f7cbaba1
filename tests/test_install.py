"""The whole path a team takes: build the wheel, install it into a fresh venv outside the
repo, and run a user-style project (examples/orders) and a bundled scenario from there."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO, made_once

pytestmark = pytest.mark.slow


def sh(*args: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(venv bin dir, wheel): the built wheel installed into a fresh venv, once for every
    worker."""

    def make(tmp: Path) -> None:
        out = sh(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", REPO, "-w", tmp, cwd=tmp)
        assert out.returncode == 0, out.stderr
        (wheel,) = tmp.glob("restate_chaos-*.whl")
        assert sh(sys.executable, "-m", "venv", tmp / "venv", cwd=tmp).returncode == 0
        t0 = time.monotonic()
        # --no-compile: what the runs import is compiled when first imported (16 s -> 10 s)
        out = sh(tmp / "venv/bin/pip", "install", "-q", "--no-compile", wheel, cwd=tmp)
        assert out.returncode == 0, out.stderr
        print(f"pip install of the wheel into a fresh venv: {time.monotonic() - t0:.1f}s")

    tmp = made_once(tmp_path_factory, "installed", make)
    (wheel,) = tmp.glob("restate_chaos-*.whl")
    return tmp / "venv" / "bin", wheel


def test_the_wheel_holds_one_top_level_package(installed):
    _, wheel = installed
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"harness"}
    assert "harness/bundled/scenarios/scenario_payments.py" in names
    assert "harness/bundled/services/broken/payments_random_key.py" in names
    print(f"wheel size: {wheel.stat().st_size / 1024:.0f} kB")


def test_a_user_project_runs_from_the_installed_wheel(installed, tmp_path):
    bin_dir, _ = installed
    project = tmp_path / "orders"
    shutil.copytree(REPO / "examples" / "orders", project)
    reports = project / "reports"

    t0 = time.monotonic()
    out = sh(bin_dir / "pytest", "-q", "--chaos-seed", "3", cwd=project)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed" in out.stdout
    (run,) = reports.glob("*-orders-s3-*")
    assert (run / "index.html").is_file() and (reports / "index.html").is_file()
    print(f"first report from the user project: {time.monotonic() - t0:.1f}s")

    # the console script with a bundled scenario by name (the project's scenario folder:
    # the next test)
    out = sh(bin_dir / "restate-chaos", "run", "smoke", "--seed", "4", "--param", "OPS=100",
             cwd=project)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert (
        "restate-chaos run smoke --seed 4"
        in next(reports.glob("*-smoke-s4-*/run.json")).read_text()
    )


def test_the_installed_wheel_aims_a_scenario_at_the_project_and_flags_its_control(
    installed, tmp_path
):
    bin_dir, _ = installed
    project = tmp_path / "orders"
    shutil.copytree(REPO / "examples" / "orders", project)
    reports = project / "reports"
    # a bundled scenario aimed at the project's own API through its adapter: charges held,
    # refunds not exercised (Checkout has none), so inconclusive (4)
    out = sh(
        bin_dir / "restate-chaos", "run", "payments", "--seed", "4",
        "--app", "payments=orders.service:app",
        "--adapter", "payments=chaos.payments_adapter:CheckoutPayments", cwd=project,
    )  # fmt: skip
    assert out.returncode == 4, out.stdout + out.stderr
    results = json.loads(next(reports.glob("*-payments-s4-*/results.json")).read_text())
    verdicts = {v["id"]: v["valid"] for v in results["verdicts"]}
    assert verdicts["exactly_once:charge"] is True and verdicts["exactly_once:refund"] == "unknown"
    assert verdicts["balances"] is True

    # the project's negative control is a violation (1); a typo is bad input (2)
    out = sh(
        bin_dir / "restate-chaos", "run", "chaos/", "--seed", "5",
        "--app", "checkout=orders.broken:app", cwd=project,
    )  # fmt: skip
    assert out.returncode == 1, out.stdout + out.stderr
    assert "exactly_once:charge: False" in out.stdout
    out = sh(bin_dir / "restate-chaos", "run", "nosuch", cwd=project)
    assert out.returncode == 2 and "unknown scenario 'nosuch'" in out.stderr
