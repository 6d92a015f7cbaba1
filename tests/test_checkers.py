"""Checkers on hand-written histories: each one must pass good runs and flag bad ones."""

from harness.checkers.counter import check_counters
from harness.checkers.liveness import check_liveness
from harness.checkers.vacuity import check_vacuity
from harness.checkers.verdict import Verdict, combine


def op(i, outcome, key="a", idem=None, handler="add", resp=None):
    inv = {
        "type": "invoke",
        "op": i,
        "t": i,
        "handler": handler,
        "key": key,
        "idem": idem or f"i{i}",
    }
    if outcome is None:  # never completed: the harness died, or the op is in flight
        return [inv]
    done = {"type": outcome, "op": i, "t": i + 0.5}
    if outcome == "ok":
        done["resp"] = resp
    return [inv, done]


def history(*ops):
    return [r for o in ops for r in o]


def test_counter_exact_when_every_increment_acknowledged():
    h = history(op(1, "ok"), op(2, "ok"), op(3, "ok", key="b"))
    v = check_counters(h, {"a": 2, "b": 1})
    assert v.valid is True and v.stats["exact_keys"] == 2


def test_counter_duplicate_attempts_of_one_key_count_once():
    h = history(op(1, "info", idem="x"), op(2, "ok", idem="x"), op(3, "ok", idem="x"))
    assert check_counters(h, {"a": 1}).valid is True
    assert check_counters(h, {"a": 2}).valid is False


def test_counter_flags_lost_increment_with_its_ops():
    h = history(op(1, "ok"), op(2, "ok"))
    v = check_counters(h, {"a": 1})
    assert v.valid is False
    assert v.counterexamples[0]["problem"] == "lost increment"
    assert v.counterexamples[0]["ops"] == [1, 2]


def test_counter_flags_doubled_increment():
    v = check_counters(history(op(1, "ok")), {"a": 2})
    assert v.valid is False and v.counterexamples[0]["problem"] == "doubled increment"


def test_counter_unknown_outcomes_widen_the_bound_but_not_beyond():
    h = history(op(1, "ok"), op(2, "info"), op(3, None))
    assert all(check_counters(h, {"a": n}).valid is True for n in (1, 2, 3))
    assert check_counters(h, {"a": 0}).valid is False
    assert check_counters(h, {"a": 4}).valid is False


def test_counter_failed_ops_must_not_have_applied():
    h = history(op(1, "ok"), op(2, "fail"))
    assert check_counters(h, {"a": 1}).valid is True
    assert check_counters(h, {"a": 2}).valid is False


def test_liveness():
    assert check_liveness([], {"completed": 5}, 0.1).valid is True
    stuck = [{"id": "inv_1", "status": "backing-off"}]
    v = check_liveness(stuck, {"completed": 4, "backing-off": 1}, None)
    assert v.valid is False and v.counterexamples == stuck


def fault(in_flight):
    return [{"type": "fault-start", "t": 1, "in_flight": in_flight}, {"type": "fault-end", "t": 2}]


def test_vacuity_guard():
    ok_ops = history(*(op(i, "ok") for i in range(10)))
    assert check_vacuity(ok_ops + fault(3), min_ok=10, min_faults=1).valid is True
    assert check_vacuity(ok_ops + fault(0), min_ok=10, min_faults=1).valid == "unknown"
    assert check_vacuity(ok_ops + fault(3), min_ok=11, min_faults=1).valid == "unknown"
    assert check_vacuity(ok_ops, min_ok=1, min_faults=1).valid == "unknown"


def test_combine_false_beats_unknown_beats_true():
    t, f, u = (Verdict("x", v, "") for v in (True, False, "unknown"))
    assert combine([t, t]) is True
    assert combine([t, u]) == "unknown"
    assert combine([u, f, t]) is False
    assert combine([]) == "unknown"
