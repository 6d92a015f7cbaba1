"""Preparing a run's fault plan (harness/plan.py): pure, no processes."""

from __future__ import annotations

import pytest

from harness import plan
from harness.errors import BadInput
from harness.nemesis.faults import Fault, kill, plan_digest


def seeded() -> list[Fault]:
    return [
        kill("server", after_ops=40),
        kill("payments", after_ops=80),
        Fault("latency", "payments", at=1.0, args={"latency_ms": 50.0}),
    ]


def test_single_node_plan_is_the_scenarios_scaled():
    once = plan.prepare(seeded(), seed=1, scale=1, generated=100, kept=100)
    assert once == seeded()
    twice = plan.prepare(seeded(), seed=1, scale=2, generated=200, kept=200)
    # a fault after N requests: once per half of the workload; one at a time: once
    assert sorted(f.after_ops for f in twice if f.after_ops is not None) == [20, 40, 120, 140]
    assert [f.at for f in twice if f.after_ops is None] == [1.0]


def test_cluster_server_faults_go_to_a_node_chosen_by_the_seed():
    nodes = ["n1", "n2", "n3"]
    chosen = {
        seed: plan.prepare(seeded(), seed=seed, scale=1, generated=100, kept=100, nodes=nodes)[
            0
        ].target
        for seed in range(12)
    }
    assert set(chosen.values()) <= set(nodes) and len(set(chosen.values())) > 1
    again = plan.prepare(seeded(), seed=3, scale=1, generated=100, kept=100, nodes=nodes)
    assert again[0].target == chosen[3]  # the same seed, the same node
    assert [f.target for f in again[1:]] == ["payments", "payments"]  # services keep theirs


def test_a_subset_keeps_each_fault_as_far_into_the_workload():
    cut = plan.prepare(seeded(), seed=1, scale=1, generated=100, kept=25)
    assert [f.after_ops for f in cut] == [10, 20, None]
    assert cut[2].at == 1.0  # a fault at a time is not moved


def test_a_given_plan_is_taken_as_it_is():
    mine = [kill("server", after_ops=5)]
    got = plan.prepare(seeded(), seed=1, scale=3, generated=100, kept=100, given=mine)
    assert got == mine and plan_digest(got) == plan_digest(mine)


def test_a_given_plan_naming_an_unknown_target_is_bad_input():
    plan.check_targets([kill("server", at=0.0)], {"server", "payments"}, "p.json")
    with pytest.raises(BadInput, match=r"no target paymnts in this scenario; its targets are "):
        plan.check_targets([kill("paymnts", at=0.0)], {"server", "payments"}, "p.json")


def test_overrides_for_unknown_services_or_versions_never_run_are_bad_input():
    plan.check_overrides("payments", ["payments", "payments@2"], ["payments"], [
        Fault("upgrade", "payments", after_ops=3)
    ])  # fmt: skip
    with pytest.raises(BadInput, match="has no such service; its services: payments"):
        plan.check_overrides("payments", ["paymnts"], ["payments"], [])
    with pytest.raises(BadInput, match="upgrades 'payments' 0 time"):
        plan.check_overrides("payments", ["payments@2"], ["payments"], [])


def test_what_the_harness_cannot_make_is_named():
    assert plan.unrunnable(kill("svc", at=0.0), {"svc"}, "process") is not None
    assert plan.unrunnable(Fault("latency", "svc", at=0.0), {"svc"}, "process") is None
    assert plan.unrunnable(Fault("upgrade", "svc", after_ops=1), set(), "docker") is not None
    assert plan.unrunnable(kill("svc", at=0.0), set(), "docker") is None


def test_cluster_client_limits():
    assert plan.client_limits(False, 10.0, 30.0) == (10.0, 30.0)
    timeout, retry_for = plan.client_limits(True, 10.0, 30.0)
    assert timeout == plan.CLUSTER_ATTEMPT_S and retry_for > 30.0


def test_workload_record_names_keys_in_order_of_first_use():
    class Item:
        def __init__(self, subject: str) -> None:
            self.subject = subject

    items = [Item("b"), Item("a"), Item("b")]
    rec = plan.workload_record(items, items[:2], seeded(), False, [0, 1])
    assert rec == {
        "items": 3, "kept": 2, "faults": 3, "explicit_plan": False, "keys": ["b", "a"],
        "positions": [0, 1],
    }  # fmt: skip
