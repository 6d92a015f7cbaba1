"""The driver's bookkeeping against a port where nothing listens (every call refused), and
against a loopback server that never answers (a wedged key)."""

import asyncio

import pytest

from harness.runtime.ports import PortAllocator
from harness.workload.client import IngressClient, Request
from harness.workload.driver import Driver
from harness.workload.history import History, operations, read
from tests.test_http1 import serve


async def drive(tmp_path, requests, **kw):
    alloc = PortAllocator()
    port = alloc.allocate()  # reserved and free: connections are refused
    history = History(tmp_path / "h.jsonl")
    try:
        async with IngressClient(f"http://127.0.0.1:{port}", history, timeout=2) as client:
            driver = Driver(client, concurrency=4, retry_for=0.3)
            outcomes = await driver.run(requests, **kw)
    finally:
        history.close()
        alloc.release_all()
    return driver.stats, outcomes, read(tmp_path / "h.jsonl")


async def test_refused_requests_are_fail_and_retried_only_with_an_idempotency_key(tmp_path):
    reqs = [Request("S", "h", body=1), Request("S", "h", body=2, idem="k")]
    stats, outcomes, records = await drive(tmp_path, reqs)
    assert [o.type for o in outcomes] == ["fail", "fail"]
    assert not any(o.sent for o in outcomes)
    ops = list(operations(records))
    assert sum(1 for o in ops if o.idem is None) == 1  # no key: never retried
    assert sum(1 for o in ops if o.idem == "k") > 1  # key: retried with the same key
    assert stats.requests == 2 and stats.gave_up == 2 and stats.ok == 0
    assert all(o.outcome == "fail" for o in ops)


async def test_duration_bounds_the_workload(tmp_path):
    reqs = [Request("S", "h", body=i) for i in range(50)]
    stats, outcomes, _ = await drive(tmp_path, reqs, duration=0)
    assert stats.requests == 0 and outcomes == []
    stats, outcomes, _ = await drive(tmp_path, reqs)
    assert stats.requests == 50 and len(outcomes) == 50


async def test_rate_spreads_arrivals_over_time(tmp_path):
    reqs = [Request("S", "h", body=i) for i in range(9)]
    (tmp_path / "paced").mkdir()
    _, outcomes, records = await drive(tmp_path / "paced", reqs, rate=20)
    assert len(outcomes) == 9
    starts = sorted(r["wall"] for r in records if r["type"] == "invoke")
    assert starts[-1] - starts[0] >= 8 / 20 - 0.02  # request i starts at i / rate
    (tmp_path / "burst").mkdir()
    _, _, records = await drive(tmp_path / "burst", reqs)
    starts = sorted(r["wall"] for r in records if r["type"] == "invoke")
    assert starts[-1] - starts[0] < 0.2  # without a rate: a burst


async def test_rate_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="rate must be > 0"):
        await drive(tmp_path, [Request("S", "h")], rate=0)


async def test_bounded_wait_retries_a_read_then_times_out_and_a_flow_takes_another_path(tmp_path):
    attach = Request("W", "attach", key="u1", method="GET", wait_s=0.3)
    assert attach.path == "/restate/workflow/W/u1/attach"
    paths = []

    async def flow(call):
        got = await call(attach)
        paths.append(got.timed_out)
        if got.timed_out:
            return await call(Request("W", "resultAsEmail", key="u1", body={}))
        return got

    _, outcomes, records = await drive(tmp_path, [flow])
    assert paths == [True] and len(outcomes) == 1
    ops = list(operations(records))
    attaches = [o for o in ops if o.invoke["handler"] == "attach"]
    assert len(attaches) > 1  # a GET is safe to retry without an idempotency key
    assert attaches[-1].invoke["wall"] - attaches[0].invoke["wall"] < 0.5  # within the wait
    assert [o.invoke["handler"] for o in ops][-1] == "resultAsEmail"


async def test_a_request_whose_key_is_wedged_is_abandoned_and_not_retried(tmp_path):
    """An attempt on a key that `wedged` reports stuck ends within seconds as `info`,
    with the reason, and its request is given up; one on another key waits out its
    timeout and is retried until its budget runs out."""

    async def never(head, body, writer):
        await asyncio.sleep(30)
        return True

    async def wedged(req):
        return "Payments/p1 fails with a journal mismatch" if req.key == "p1" else None

    server, port, _ = await serve(never)
    history = History(tmp_path / "h.jsonl")
    reqs = [Request("Payments", "create", key=k, idem=f"create-{k}") for k in ("p1", "p2")]
    async with server, IngressClient(f"http://127.0.0.1:{port}", history, timeout=4) as client:
        driver = Driver(client, concurrency=2, retry_for=4.5, wedged=wedged)
        stuck, slow = await driver.run(reqs)
    history.close()
    assert stuck.type == "info" and stuck.wedged == "Payments/p1 fails with a journal mismatch"
    assert slow.type == "info" and slow.wedged is None
    assert driver.stats.wedged == 1 and driver.stats.gave_up == 2
    ops = list(operations(read(tmp_path / "h.jsonl")))
    p1 = [o for o in ops if o.invoke["key"] == "p1"]
    assert len(p1) == 1 and p1[0].result["error"].startswith("abandoned: Payments/p1 fails")
    assert p1[0].result["t"] - p1[0].invoke["t"] < 3.5  # abandoned, not timed out at 4 s
    assert len([o for o in ops if o.invoke["key"] == "p2"]) == 2  # timed out, retried


def test_a_buffered_history_keeps_its_lines_through_a_kill_9(tmp_path):
    """In the chaos phase the history is buffered, flushed every 0.1 s: a line is on disk
    a moment after it was written, even with nothing written after it, so a kill -9 of the
    harness loses at most that moment."""
    import subprocess
    import sys

    code = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from harness.workload.history import History\n"
        "async def main():\n"
        "    h = History(Path(sys.argv[1]))\n"
        "    async with h.buffered():\n"
        "        h.append('invoke', op=1)\n"
        "        await asyncio.sleep(0.5)\n"
        "        print('written', flush=True)\n"
        "        await asyncio.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    path = tmp_path / "h.jsonl"
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline().strip() == b"written"
        proc.kill()
        proc.wait()
    finally:
        proc.kill()
    assert [r["type"] for r in read(path)] == ["invoke"]


def test_a_torn_history_line_is_skipped_and_the_rest_is_read(tmp_path):
    path = tmp_path / "h.jsonl"
    path.write_text('{"type":"invoke","op":1}\n\n{"type":"ok","op":1}\n{"type":"inv')
    assert [r["type"] for r in read(path)] == ["invoke", "ok"]
    path.write_text('{"type":"invoke","op":1}\n{"type":"ok","op":1}\n')
    assert [r["type"] for r in read(path)] == ["invoke", "ok"]


def test_a_long_history_is_read_in_batches_sharing_equal_strings(tmp_path, monkeypatch):
    import harness.workload.history as history

    monkeypatch.setattr(history, "READ_BATCH", 3)
    path = tmp_path / "h.jsonl"
    lines = [f'{{"type":"invoke","op":{i},"service":"Counter","key":"c{i % 2}"}}' for i in range(7)]
    lines.insert(4, '{"type":"inv')  # torn, inside the second batch
    path.write_text("\n".join(lines) + "\n")
    records = read(path)
    assert [r["op"] for r in records] == list(range(7))
    assert records[0]["service"] is records[6]["service"]  # one string, shared
    assert records[0]["key"] is records[4]["key"] and records[0]["key"] == "c0"


def test_equal_small_rows_are_shared_and_the_others_kept():
    """A soak's slimmed invocation rows (status, journal size) load as a few objects; a
    full row, or one with a list in it, stays as it was."""
    from harness.workload.history import share_equal

    slim = [{"status": "completed", "journal_size": 3} for _ in range(3)]
    other = {"status": "completed", "journal_size": 4}
    full = {f"f{i}": i for i in range(5)}
    listed = {"status": "running", "ids": [1]}
    rows = share_equal([*slim, other, full, dict(full), listed])
    assert rows[0] is rows[1] is rows[2] and rows == [*slim, other, full, full, listed]
    assert rows[3] is other and rows[4] is not rows[5] and rows[6] is listed
