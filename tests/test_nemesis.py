import asyncio
import random
import socket
import subprocess
import sys
import time
from dataclasses import asdict

import pytest

from harness.nemesis.faults import Fault, kill, plan_digest, random_plan
from harness.nemesis.nemesis import Nemesis
from harness.workload.history import History, read


def test_same_seed_same_plan_and_digest():
    def plan(seed):
        return random_plan(random.Random(seed), ["svc", "server"], 500, 4, ("kill", "pause"))

    assert plan(3) == plan(3)
    assert plan_digest(plan(3)) == plan_digest(plan(3))
    assert plan_digest(plan(3)) != plan_digest(plan(4))


@pytest.mark.parametrize(
    "kw, msg",
    [
        ({"kind": "explode", "target": "x", "after_ops": 1}, "unknown fault kind"),
        ({"kind": "kill", "target": "x"}, "exactly one trigger"),
        ({"kind": "kill", "target": "x", "after_ops": 1, "at": 1.0}, "exactly one trigger"),
        ({"kind": "kill", "target": "x", "after_ops": 1, "downtime": -1}, "downtime"),
        ({"kind": "late-delivery", "target": "x", "after_ops": 1}, "its target is 'world'"),
        ({"kind": "kill", "target": "world", "after_ops": 1}, "does not act on the world"),
    ],
)
def test_invalid_faults_rejected(kw, msg):
    with pytest.raises(ValueError, match=msg):
        Fault(**kw)


def test_unknown_target_rejected(tmp_path):
    h = History(tmp_path / "h.jsonl")
    with pytest.raises(ValueError, match="unknown target"):
        Nemesis([kill("nope", after_ops=1)], {"svc": object()}, h, tmp_path / "f.jsonl")


class FakeTarget:  # a stand-in for a process: the nemesis's own bookkeeping is under test
    name = "svc"
    last_start: dict[str, float] = {}  # as Supervised's

    def __init__(self):
        self.calls = []

    def running(self):
        return True

    async def kill(self):
        self.calls.append("kill")

    async def start(self, timeout=30.0):
        self.calls.append("start")
        return 0.0


class Progress:
    in_flight = 5

    def __init__(self):
        self.done = 0

    async def wait_done(self, n):
        while self.done < n:
            await asyncio.sleep(0.001)


async def test_faults_recorded_in_order_and_untriggered_ones_skipped(tmp_path):
    h = History(tmp_path / "h.jsonl")
    target = FakeTarget()
    nem = Nemesis(
        [kill("svc", after_ops=2, downtime=0), kill("svc", after_ops=99, downtime=0)],
        {"svc": target},
        h,
        tmp_path / "f.jsonl",
    )
    progress = Progress()
    task = asyncio.create_task(nem.run(progress))
    progress.done = 2
    await asyncio.sleep(0.05)
    nem.workload_done.set()
    await asyncio.wait_for(task, 5)
    h.close()
    types = [r["type"] for r in read(tmp_path / "f.jsonl")]
    assert types == ["fault-start", "fault-end", "fault-skipped"]
    assert target.calls == ["kill", "start"]
    assert read(tmp_path / "f.jsonl")[0]["in_flight"] == 5


class FakeEvents:
    def __init__(self, events):
        self._events = events

    async def events(self, after, wait=0.0):
        out = [e for e in self._events if e["seq"] > after]
        if not out:
            await asyncio.sleep(0.01)
        return out


async def test_event_trigger_fires_on_the_first_matching_event(tmp_path):
    from harness.nemesis.faults import matches

    assert matches({"op": "charge", "key": "p2"}, {"op": "charge", "key": ["p1", "p2"]})
    assert not matches({"op": "charge", "key": "p3"}, {"op": "charge", "key": ["p1", "p2"]})
    h = History(tmp_path / "h.jsonl")
    target = FakeTarget()
    events = FakeEvents(
        [
            {"seq": 1, "op": "charge", "outcome": "applied", "key": "p1"},
            {"seq": 2, "op": "charge", "outcome": "duplicate", "key": "p2"},
            {"seq": 3, "op": "charge", "outcome": "applied", "key": "p2"},
        ]
    )
    plan = [
        Fault(
            "kill", "svc", on_event={"op": "charge", "outcome": "applied", "key": "p2"}, downtime=0
        )
    ]
    nem = Nemesis(plan, {"svc": target}, h, tmp_path / "f.jsonl", events=events)
    await asyncio.wait_for(nem.run(Progress()), 5)
    h.close()
    start = read(tmp_path / "f.jsonl")[0]
    assert start["type"] == "fault-start" and start["world_seq"] == 3
    assert target.calls == ["kill", "start"]


class FakeWorld(FakeEvents):
    """Applies the delivery faults it is told to (all but those of kind late-delivery)."""

    def __init__(self):
        super().__init__([])
        self.armed: dict[int, str] = {}

    async def arm_delivery(self, fault, kind, args):
        self.armed[fault] = kind

    async def delivery_fault(self, fault, disarm=False):
        fits = self.armed.get(fault) != "late-delivery"
        return {"key": "p1", "wall": 1.0} if fits else None


async def test_a_delivery_fault_lands_when_the_world_applied_it_else_it_is_missed(tmp_path):
    h = History(tmp_path / "h.jsonl")
    world = FakeWorld()
    plan = [
        Fault("duplicate-delivery", "world", after_ops=0),
        Fault("late-delivery", "world", after_ops=0, args={"within_s": 0.2}),
    ]
    nem = Nemesis(plan, {}, h, tmp_path / "f.jsonl", events=world)
    await asyncio.wait_for(nem.run(Progress()), 5)
    h.close()
    starts = {r["kind"]: r for r in read(tmp_path / "f.jsonl") if r["type"] == "fault-start"}
    assert starts["duplicate-delivery"]["landed"] is True
    assert starts["duplicate-delivery"]["world_key"] == "p1"
    assert starts["duplicate-delivery"]["args"] == {"delay_s": 0.5, "within_s": 5.0, "key": None}
    late = starts["late-delivery"]
    assert late["landed"] is False
    assert late["missed"] == "no planned webhook delivery came within 0.2 s"
    with pytest.raises(ValueError, match="delivery faults need the world"):
        Nemesis(plan, {}, h, tmp_path / "g.jsonl")


def test_event_faults_need_the_world(tmp_path):
    h = History(tmp_path / "h.jsonl")
    with pytest.raises(ValueError, match="start_world"):
        Nemesis(
            [Fault("kill", "svc", on_event={"op": "charge"})],
            {"svc": FakeTarget()},
            h,
            tmp_path / "f.jsonl",
        )


async def test_events_in_any_order_fire_every_armed_fault(tmp_path):
    """Parallel requests reorder: the event for a later planned fault can come first."""
    h = History(tmp_path / "h.jsonl")
    target = FakeTarget()
    events = FakeEvents(
        [
            {"seq": 1, "op": "charge", "outcome": "applied", "key": "late"},
            {"seq": 2, "op": "charge", "outcome": "applied", "key": "early"},
        ]
    )
    plan = [
        Fault("kill", "svc", on_event={"op": "charge", "key": k}, downtime=0)
        for k in ("early", "late")
    ]
    nem = Nemesis(plan, {"svc": target}, h, tmp_path / "f.jsonl", events=events)
    await asyncio.wait_for(nem.run(Progress()), 5)
    h.close()
    starts = [r for r in read(tmp_path / "f.jsonl") if r["type"] == "fault-start"]
    assert sorted(s["world_key"] for s in starts) == ["early", "late"]
    assert target.calls == ["kill", "start", "kill", "start"]  # one at a time


def test_spread_keys_picks_keys_first_seen_across_the_workload():
    from harness.nemesis.faults import spread_keys
    from harness.workload.client import Request

    reqs = [Request("S", "h", key=f"k{i}") for i in range(100)]
    assert spread_keys(reqs, 3) == ["k20", "k50", "k80"]
    assert spread_keys(reqs, 3, exclude={"k50"}) == ["k20", "k49", "k80"]


class SlowTarget(FakeTarget):
    """A process that takes `restart` seconds to come back."""

    def __init__(self, restart):
        super().__init__()
        self.restart = restart

    async def start(self, timeout=30.0):
        await asyncio.sleep(self.restart)
        return await super().start()


class LateEvents(FakeEvents):
    """World events that come `delay` seconds into the run, stamped when they are read."""

    def __init__(self, events, delay):
        super().__init__(events)
        self.delay = delay
        self.t0 = None

    async def events(self, after, wait=0.0):
        import time

        loop = asyncio.get_running_loop()
        self.t0 = self.t0 or loop.time()
        if loop.time() - self.t0 < self.delay:
            await asyncio.sleep(0.01)
            return []
        out = [{**e, "wall": time.time()} for e in self._events if e["seq"] > after]
        if not out:
            await asyncio.sleep(0.01)
        return out


async def window_run(tmp_path, busy_target):
    """A long fault on `busy_target` in force when a window kill of "svc" fires."""
    h = History(tmp_path / "h.jsonl")
    targets = {"svc": SlowTarget(0.0), "server": SlowTarget(0.0)}
    targets[busy_target] = SlowTarget(0.6)
    events = LateEvents([{"seq": 1, "op": "charge", "outcome": "applied", "key": "p1"}], 0.1)
    plan = [
        Fault("kill", busy_target, at=0.0, downtime=0.0),
        Fault("kill", "svc", on_event={"op": "charge", "key": "p1"}, downtime=0, window_ms=300),
    ]
    states = {"running": 4, "suspended": 2, "scheduled": 9, "paused": 3}  # not completed
    rows = [
        {"id": f"inv_{s}{n}", "target": "Svc/h", "status": s, "journal_size": n}
        for s, k in states.items()
        for n in range(k)
    ]

    async def unfinished():
        return rows

    nem = Nemesis(plan, targets, h, tmp_path / "f.jsonl", events=events, restate=unfinished)
    await asyncio.wait_for(nem.run(Progress()), 5)
    h.close()
    return {r["fault"]: r for r in read(tmp_path / "f.jsonl") if r["type"] == "fault-start"}


async def test_a_window_fault_fires_while_another_target_is_down(tmp_path):
    starts = await window_run(tmp_path, "server")
    window = starts[1]
    assert window["overlaps"] == [0]  # the server's fault was in force, and recorded so
    assert window["landed"] is True and window["event_lag_ms"] < 100
    assert "waited_ms" not in window


async def test_a_window_fault_behind_one_on_its_target_is_recorded_as_missed(tmp_path):
    starts = await window_run(tmp_path, "svc")
    window = starts[1]
    assert window["landed"] is False and window["waited_ms"] >= 300
    assert "outside its 300 ms window" in window["missed"]
    assert "waited" in window["missed"]
    assert window["restate_in_flight"] == 15  # not the paused (retries exhausted) or done
    # where each in-flight invocation stood: handler, journal entries, id (coverage's unit)
    assert len(window["positions"]) == 15 and ["Svc/h", 8, "inv_scheduled8"] in window["positions"]
    assert not any("paused" in p[2] for p in window["positions"])


def test_a_window_needs_an_event_trigger():
    with pytest.raises(ValueError, match="event-triggered"):
        Fault("kill", "svc", after_ops=3, window_ms=300)


def test_a_scaled_plan_repeats_in_each_part_of_the_workload():
    from harness.nemesis.faults import scale_plan

    event = Fault("kill", "svc", on_event={"op": "charge"})
    plan = [kill("svc", after_ops=50), kill("server", after_ops=80), event]
    assert scale_plan(plan, 1, 100) == plan
    scaled = scale_plan(plan, 2, 200)  # the workload doubled: 200 requests
    assert sorted((f.target, f.after_ops) for f in scaled if f.after_ops is not None) == [
        ("server", 40),
        ("server", 140),
        ("svc", 25),
        ("svc", 125),
    ]
    assert scaled.count(event) == 1  # a scenario picks more keys for these itself


async def test_the_restate_sampler_ends_with_the_workload_even_if_a_cancel_is_lost(tmp_path):
    """The sampler stops once the workload is done, not only when cancelled: Python 3.11's
    wait_for could swallow its cancel, and a sampler that outlived its run kept a test
    session's event loop from closing (it polled the dead server's admin port)."""
    calls = []

    async def restate():
        calls.append(1)
        return None  # the server is down

    nem = Nemesis([], {}, History(tmp_path / "h.jsonl"), tmp_path / "f.jsonl", restate=restate)
    sampler = asyncio.create_task(nem._sample_restate())
    await asyncio.sleep(0.05)
    nem.workload_done.set()
    await asyncio.wait_for(sampler, 2.0)  # ends by itself, no cancel needed
    assert calls


def test_a_replay_plan_counts_requests_in_the_generated_workloads_terms(tmp_path):
    """A run of a subset (20 of 100 requests sent) whose kill acted after 10 finished: the
    replay plan says after 50 of the generated workload, which the run cuts back to 10."""
    import json

    from harness.nemesis.faults import replay_plan

    (tmp_path / "run.json").write_text(json.dumps({"plan": [asdict(kill("svc", after_ops=7))]}))
    start = {"type": "fault-start", "fault": 0, "kind": "kill", "target": "svc", "ops_done": 10}
    (tmp_path / "faults.jsonl").write_text(json.dumps(start) + "\n")
    workload = {"type": "workload", "t": 0, "items": 100, "kept": 20}
    (tmp_path / "history.jsonl").write_text(json.dumps(workload) + "\n")
    assert [f.after_ops for f in replay_plan(tmp_path)] == [50]
    (tmp_path / "history.jsonl").write_text("")  # a whole workload: as it was
    assert [f.after_ops for f in replay_plan(tmp_path)] == [10]


@pytest.mark.parametrize(
    "kw, msg",
    [
        ({"kind": "latency", "target": "svc", "after_ops": 1, "args": {"ms": 5}}, "no argument ms"),
        ({"kind": "reset", "target": "server", "after_ops": 1}, "not the server"),
        ({"kind": "kill", "target": "svc", "after_ops": 1, "args": {"nth": 2}}, "arguments: none"),
    ],
)
def test_invalid_network_faults_rejected(kw, msg):
    with pytest.raises(ValueError, match=msg):
        Fault(**kw)


class FakeLink:  # the proxy's answers, as the nemesis reads them
    name = "svc"

    def __init__(self, in_flight=3, attempts_per_poll=0):
        self.calls = []
        self.attempts = 0
        self.in_flight = in_flight
        self.per_poll = attempts_per_poll

    def counts(self):
        return {"in_flight": self.in_flight, "attempts": self.attempts}

    async def set(self, **conditions):
        self.calls.append(("set", conditions))
        return {"before": self.counts()}

    async def reset(self, scope="streams"):
        self.calls.append(("reset", scope))
        return {"before": self.counts(), scope: self.in_flight}

    async def fail_nth(self, nth):
        self.calls.append(("fail-nth", nth))
        return {"before": self.counts()}

    async def stats(self):
        self.attempts += self.per_poll
        return self.counts()


async def run_network(tmp_path, plan, link, events=None):
    h = History(tmp_path / "h.jsonl")
    nemesis = Nemesis(plan, {}, h, tmp_path / "f.jsonl", events=events, links={"svc": link})
    progress = Progress()
    task = asyncio.create_task(nemesis.run(progress))
    progress.done = 10
    await asyncio.sleep(0.3)
    nemesis.workload_done.set()
    await task
    h.close()
    return [r for r in read(tmp_path / "h.jsonl") if r["type"].startswith("fault")]


async def test_network_faults_act_on_the_link_and_record_where_they_landed(tmp_path):
    plan = [
        Fault("reset", "svc", after_ops=1),
        Fault("latency", "svc", after_ops=1, downtime=0.05, args={"latency_ms": 50}),
    ]
    link = FakeLink(in_flight=3)
    recs = await run_network(tmp_path, plan, link)
    assert ("reset", "streams") in link.calls
    assert ("set", {"latency_ms": 50, "jitter_ms": 0.0}) in link.calls
    assert link.calls[-1] == ("set", {})  # the latency undone
    starts = {r["kind"]: r for r in recs if r["type"] == "fault-start"}
    assert starts["reset"]["landed"] and starts["reset"]["reset"] == 3
    assert starts["latency"]["link_in_flight"] == 3


async def test_a_reset_of_an_idle_path_and_an_nth_attempt_that_never_came_are_missed(tmp_path):
    plan = [Fault("reset", "svc", after_ops=1), Fault("fail-nth", "svc", after_ops=1, downtime=0.1)]
    link = FakeLink(in_flight=0)
    recs = await run_network(tmp_path, plan, link)
    starts = {r["kind"]: r for r in recs if r["type"] == "fault-start"}
    assert starts["reset"]["landed"] is False
    assert "no invocation attempt" in starts["reset"]["missed"]
    assert starts["fail-nth"]["landed"] is False and "1th" in starts["fail-nth"]["missed"]
    assert ("fail-nth", None) in link.calls  # disarmed


async def test_fail_nth_is_recorded_when_its_attempt_comes(tmp_path):
    link = FakeLink(in_flight=1, attempts_per_poll=1)
    recs = await run_network(
        tmp_path, [Fault("fail-nth", "svc", after_ops=1, downtime=5, args={"nth": 3})], link
    )
    start = next(r for r in recs if r["type"] == "fault-start")
    assert start["landed"] is True and ("fail-nth", None) not in link.calls


def test_network_faults_need_a_link(tmp_path):
    h = History(tmp_path / "h.jsonl")
    with pytest.raises(ValueError, match="network paths"):
        Nemesis([Fault("reset", "svc", after_ops=1)], {"svc": object()}, h, tmp_path / "f.jsonl")


async def test_a_reset_in_its_window_but_with_nothing_in_flight_did_not_land(tmp_path):
    """Right after its event, but the service was down (a kill in force): nothing to cut."""
    event = {"seq": 1, "op": "charge", "outcome": "applied", "key": "p1", "wall": time.time()}
    fault = Fault("reset", "svc", on_event={"op": "charge", "key": "p1"}, window_ms=300)
    recs = await run_network(tmp_path, [fault], FakeLink(in_flight=0), FakeEvents([event]))
    start = next(r for r in recs if r["type"] == "fault-start")
    assert start["landed"] is False and "no invocation attempt" in start["missed"]


def test_upgrade_faults_take_their_arguments_and_a_service():
    f = Fault("upgrade", "svc", after_ops=1, args={"app": "m:app", "in_place": True})
    assert f.args["in_place"] is True
    with pytest.raises(ValueError, match="not the server"):
        Fault("upgrade", "server", after_ops=1)
    with pytest.raises(ValueError, match="no argument nth"):
        Fault("upgrade", "svc", after_ops=1, args={"nth": 1})


async def test_an_upgrade_switches_when_the_old_version_has_work_else_it_is_missed(tmp_path):
    """The upgrade waits (in Upgrader.upgrade) for an invocation of the old version in flight;
    the nemesis records where it landed at the switch, and one that found no work before
    the workload ended as missed, with nothing switched."""
    switched = {"service": "svc", "version": 2, "pinned_at_switch": 3, "waited_for_work_s": 1.5}
    missed = {"service": "svc", "missed": "no invocation of the old version was in flight"}

    async def run(answer):
        async def upgrade(target, args, until):
            assert until is nem.workload_done  # the wait for work ends with the workload
            return answer, FakeTarget(), None

        h = History(tmp_path / f"{len(answer)}.jsonl")
        nem = Nemesis(
            [Fault("upgrade", "svc", after_ops=1)], {"svc": FakeTarget()}, h,
            tmp_path / f"{len(answer)}f.jsonl", upgrade=upgrade,
        )  # fmt: skip
        progress = Progress()
        progress.done = 1
        await asyncio.wait_for(nem.run(progress), 5)
        h.close()
        return [r for r in read(tmp_path / f"{len(answer)}f.jsonl")]

    start, end = await run(switched)
    assert start["landed"] is True and end["pinned_at_switch"] == 3
    start, end = await run(missed)
    assert start["landed"] is False and "no invocation of the old version" in start["missed"]
    assert "pinned_at_switch" not in end


class Caller(FakeTarget):
    """A real process holding a TCP connection to `port`, as a service holds one to the
    world: the world sees the connection's local port as the caller."""

    def __init__(self, port):
        super().__init__()
        code = (
            f"import socket, time; s = socket.create_connection(('127.0.0.1', {port})); "
            "print(s.getsockname()[1], flush=True); time.sleep(60)"
        )
        self.popen = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
        self.proc = self.popen  # what the nemesis reads: .pid
        self.port = int(self.popen.stdout.readline())


async def test_after_an_upgrade_faults_say_their_version_and_a_window_fault_strikes_the_caller(
    tmp_path,
):
    """Issue 36: after an upgrade, a fault on the service records the version it struck;
    one aimed at a world event, while the old version still serves what is pinned to it,
    strikes the process that made the call (its port, among the versions' connections)."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    old, new = Caller(port), Caller(port)
    try:
        h = History(tmp_path / "h.jsonl")

        async def upgrade(target, args, until):
            return {"service": "svc", "version": 2, "pinned_at_switch": 1}, new, None

        class Events:  # the old version's call comes after the upgrade
            async def events(self, after, wait=0.0):
                await asyncio.sleep(0.01)
                if not nem.versions:
                    return []
                return [{"seq": 1, "op": "charge", "key": "p1", "outcome": "applied",
                         "peer": old.port, "wall": time.time()}]  # fmt: skip

        plan = [
            Fault("upgrade", "svc", after_ops=1),
            Fault("kill", "svc", on_event={"op": "charge", "key": "p1"}, downtime=0),
            Fault("kill", "svc", after_ops=3, downtime=0),
        ]
        nem = Nemesis(plan, {"svc": old}, h, tmp_path / "f.jsonl", events=Events(),
                      upgrade=upgrade)  # fmt: skip
        progress = Progress()
        progress.done = 1
        task = asyncio.create_task(nem.run(progress))
        ends = tmp_path / "f.jsonl"
        while not ends.exists() or sum(r["type"] == "fault-end" for r in read(ends)) < 2:
            await asyncio.sleep(0.01)
        progress.done = 3
        await asyncio.wait_for(task, 10)
        h.close()
        starts = {r["fault"]: r for r in read(tmp_path / "f.jsonl") if r["type"] == "fault-start"}
        assert starts[1]["version"] == 1 and starts[1]["struck"] == f"the caller (port {old.port})"
        assert starts[2]["version"] == 2 and "struck" not in starts[2]
        assert old.calls == ["kill", "start"] and new.calls == ["kill", "start"]
    finally:
        for c in (old, new):
            c.popen.kill()
            c.popen.wait()
        listener.close()


def test_fault_kinds_are_declared_once_and_every_view_follows():
    """harness/nemesis/kinds.py is the one declaration: the plan's checks, the
    tables the nemesis and the charts read and the docs' table all come from it."""
    from harness.nemesis import faults, kinds
    from harness.nemesis.injectors import INJECTORS

    names = [k.name for k in kinds.REGISTRY]
    assert tuple(names) == faults.KINDS
    views = set(faults.NETWORK_KINDS) | set(faults.PROCESS_KINDS) | set(faults.DELIVERY_KINDS)
    assert views | {"upgrade", "cancel-invocation"} == set(names)
    assert {k.acts_on for k in kinds.REGISTRY} == set(INJECTORS)  # each acts through one
    assert set(faults.CUTS) >= set(faults.INSTANT) & set(faults.NETWORK_KINDS)
    table = kinds.markdown_table()
    assert all(f"| `{n}` |" in table for n in names)
    with pytest.raises(ValueError, match="unknown fault kind 'crash'; choose one of"):
        faults.Fault("crash", "payments", after_ops=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="latency takes no argument nth"):
        faults.Fault("latency", "payments", after_ops=1, args={"nth": 2})
    with pytest.raises(ValueError, match="its target is a service name"):
        faults.Fault("reset", "server", after_ops=1)
    assert faults.describe("fail-nth", "tickets") == "reset of the Nth stream to tickets"
