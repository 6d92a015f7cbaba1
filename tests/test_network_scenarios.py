"""Network faults in a scenario: a broken service that only a stream reset shows."""

from __future__ import annotations

import json

import pytest

from tests.test_own_services import cli

GUARD = "payments=harness.bundled.services.broken.payments_inflight_guard:app"


def plan(kind: str) -> list[dict]:
    """Three faults of `kind` on the payment service: right after the first charge the
    world records, and after 150 and 300 finished requests."""
    return [
        {"kind": kind, "target": "payments", "on_event": {"op": "charge", "outcome": "applied"}},
        {"kind": kind, "target": "payments", "after_ops": 150},
        {"kind": kind, "target": "payments", "after_ops": 300},
    ]


@pytest.mark.slow
def test_only_a_stream_reset_shows_the_inflight_guard(tmp_path):
    """The in-process guard survives an attempt abandoned by a stream reset, and the
    retry in the same live process answers "pending" for a charged card; a kill wipes the
    guard with the process, so the same plan with kills passes, its faults landed."""
    codes = {}
    for kind in ("reset", "kill"):
        path = tmp_path / f"{kind}.json"
        path.write_text(json.dumps(plan(kind)))
        reports = tmp_path / kind
        out = cli(
            "run", "payments", "--seed", "3", "--plan", str(path), "--app", GUARD,
            "--report-dir", str(reports),
        )  # fmt: skip
        codes[kind] = out.returncode
        (results,) = reports.glob("*/results.json")
        verdicts = {v["id"]: v["valid"] for v in json.loads(results.read_text())["verdicts"]}
        faults = [json.loads(x) for x in (results.parent / "faults.jsonl").open()]
        landed = [f for f in faults if f["type"] == "fault-start" and f["landed"]]
        assert len(landed) == 3, (kind, faults)
        if kind == "reset":
            assert verdicts["exactly_once:charge"] is False, out.stdout[-3000:]
        else:
            assert verdicts["exactly_once:charge"] is True, out.stdout[-3000:]
    assert codes == {"reset": 1, "kill": 0}
