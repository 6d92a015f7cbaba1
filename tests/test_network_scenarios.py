"""Network faults in a scenario: broken services that only a network fault shows, each run
with a plan of that fault and with the same plan of kills, which must pass."""

from __future__ import annotations

import json

import pytest

from tests.test_own_services import cli

BROKEN = "payments=harness.bundled.services.broken.payments_{}:app"
ARGS = {  # each kind's arguments and how long it holds: wide of the service's margins
    "reset": ({}, 0.3),
    "reset-connections": ({}, 0.3),
    "slow-close": ({}, 0.3),
    "fail-nth": ({"nth": 3}, 2.0),
    "kill": ({}, 0.3),
    "latency": ({"latency_ms": 1500}, 2.0),  # a step's ack then takes >= 3 s, deadline 1 s
    "blackhole": ({}, 3.0),
}


def plan(kind: str) -> list[dict]:
    """Six faults of `kind` on the payment service: right after the first charge the world
    records, and every 60 finished requests from 60 to 300."""
    args, downtime = ARGS[kind]
    when = [{"on_event": {"op": "charge", "outcome": "applied"}}]
    when += [{"after_ops": n} for n in range(60, 301, 60)]
    return [
        {"kind": kind, "target": "payments", "downtime": downtime, **w}
        | ({"args": args} if args else {})
        for w in when
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    "broken, kind, held",
    [
        # the in-process guard survives an attempt abandoned by a stream reset, and the
        # retry in the same live process answers "pending" for a charged card; a kill
        # wipes the guard with the process
        ("inflight_guard", "reset", False),
        ("inflight_guard", "reset-connections", False),
        ("inflight_guard", "slow-close", False),
        ("inflight_guard", "fail-nth", False),
        ("inflight_guard", "kill", True),
        # the charge step's process-clock deadline runs over the journal's ack, which a
        # slow path delays: a charged card is answered declined; a kill's replay is fast
        ("local_deadline", "latency", False),
        ("local_deadline", "blackhole", False),
        ("local_deadline", "kill", True),
    ],
)
def test_a_broken_service_only_a_network_fault_shows(tmp_path, broken, kind, held):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan(kind)))
    reports = tmp_path / "reports"
    out = cli(
        "run", "payments", "--seed", "3", "--plan", str(path), "--app", BROKEN.format(broken),
        "--report-dir", str(reports),
    )  # fmt: skip
    (results,) = reports.glob("*/results.json")
    verdicts = {v["id"]: v["valid"] for v in json.loads(results.read_text())["verdicts"]}
    faults = [json.loads(x) for x in (results.parent / "faults.jsonl").open()]
    landed = [f for f in faults if f["type"] == "fault-start" and f["landed"]]
    # a plan that passes must have been exercised in full; one that violates shows it (a
    # cut that found no attempt in flight is recorded as missed: seen once in CI)
    assert (len(landed) == 6) if held else landed, faults
    # which guarantee breaks first varies (exactly_once:charge mostly; once in CI only
    # balances, determinism and liveness): the control is flagged either way
    violated = sorted(k for k, v in verdicts.items() if v is False)
    assert (violated == []) is held, out.stdout[-3000:]
    assert out.returncode == (0 if held else 1), out.stdout[-3000:]
