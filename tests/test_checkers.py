"""Checkers on hand-written histories: each one must pass good runs and flag bad ones."""

import json

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
    done = [{"id": f"inv_{i}", "status": "completed"} for i in range(4)]
    assert check_liveness(done).valid is True
    stuck = {"id": "inv_9", "status": "backing-off"}
    v = check_liveness([*done, stuck])
    assert v.valid is False and [c["id"] for c in v.counterexamples] == ["inv_9"]
    assert v.stats["by_status"] == {"completed": 4, "backing-off": 1}
    assert v.id == "liveness"
    waiting = {"id": "inv_8", "status": "suspended"}  # no failure: waits for a signal
    v = check_liveness([*done, waiting])
    assert v.valid is False and v.cause.startswith("1 invocation(s) never failed an attempt")


def test_liveness_leaves_invocations_due_after_the_run_and_names_a_permanent_failure():
    """Issue 36: an invocation sleeping for a day (or a call scheduled a day out), and what
    queues behind it on its key, is due after the run, not stuck; one still retrying a
    failure after every fault healed is named as a permanent failure retried for ever."""
    done = [{"id": f"inv_{i}", "status": "completed"} for i in range(3)]
    asleep = {"id": "inv_s", "status": "suspended", "target_service_name": "T",
              "target_service_key": "k", "waiting_until": 1000 + 86400}  # fmt: skip
    behind = {"id": "inv_b", "status": "inboxed", "target_service_name": "T",
              "target_service_key": "k"}  # fmt: skip
    v = check_liveness([*done, asleep, behind], observed_until=1060.0)
    assert v.valid is True and v.stats["due_after_run"] == 2, v.summary
    assert "2 of 5 invocations are due after the run (the first in 23 h 59 min)" in v.summary
    v = check_liveness([*done, asleep, behind], observed_until=1000 + 86401)  # it was due
    assert v.valid is False
    only = check_liveness([asleep], observed_until=1060.0)
    assert only.valid == "unknown" and "none completed within the run" in only.summary
    failing = {"id": "inv_f", "status": "backing-off", "retry_count": 19,
               "last_failure": "[500] provider: card_expired"}  # fmt: skip
    v = check_liveness([*done, failing], observed_until=1060.0)
    assert v.valid is False and v.stats["retrying_permanent_failures"] == 1
    assert "a permanent failure answered as retryable" in v.counterexamples[0]["problem"]
    assert "1 retry a failure that outlived every fault" in v.summary
    assert v.cause.startswith("1 invocation(s) retry a failure that outlived every fault")
    assert "card_expired" in v.cause
    mismatch = {**failing, "last_failure": "[570 journal mismatch] ..."}
    v = check_liveness([*done, mismatch])
    assert "journal mismatch on every replay" in v.counterexamples[0]["problem"]
    assert v.stats["retrying_permanent_failures"] == 0


def fault(in_flight):
    return [{"type": "fault-start", "t": 1, "in_flight": in_flight}, {"type": "fault-end", "t": 2}]


def test_vacuity_guard():
    ok_ops = history(*(op(i, "ok") for i in range(10)))
    assert check_vacuity(ok_ops + fault(3), min_ok=10, min_faults=1).valid is True
    assert check_vacuity(ok_ops + fault(0), min_ok=10, min_faults=1).valid == "unknown"
    assert check_vacuity(ok_ops + fault(3), min_ok=11, min_faults=1).valid == "unknown"
    assert check_vacuity(ok_ops, min_ok=1, min_faults=1).valid == "unknown"
    # a service slower than the client waits (restatedev/examples' fan-out: subtasks of
    # 0-10 s): unknown, and the verdict says the client's waits timed out
    slow = [
        [*o[:1], {**o[1], "error": "TimeoutError: "}]
        for o in (op(i, "info") for i in range(10, 20))
    ]
    v = check_vacuity(ok_ops + history(*slow) + fault(3), min_ok=15, min_faults=1)
    assert v.valid == "unknown"
    assert "10 of 20 operations ended with the client's wait timing out" in v.summary


def test_vacuity_minimums_follow_what_the_run_was_given():
    """A subset that sent a fifth of the workload needs a fifth of `min_ok`; an explicit
    plan of one fault needs that fault, not the scenario's `min_faults`."""
    ok_ops = history(*(op(i, "ok") for i in range(10)))
    whole = {"type": "workload", "t": 0, "items": 50, "kept": 50, "faults": 1}
    cut = {**whole, "kept": 10}
    assert check_vacuity([whole, *ok_ops, *fault(3)], min_ok=50, min_faults=1).valid == "unknown"
    assert check_vacuity([cut, *ok_ops, *fault(3)], min_ok=50, min_faults=1).valid is True
    seeded, explicit = {**cut, "explicit_plan": False}, {**cut, "explicit_plan": True}
    assert check_vacuity([seeded, *ok_ops, *fault(3)], 50, min_faults=4).valid == "unknown"
    assert check_vacuity([explicit, *ok_ops, *fault(3)], 50, min_faults=4).valid is True


def test_vacuity_counts_what_the_nemesis_recorded_as_landed():
    ok_ops = history(*(op(i, "ok") for i in range(10)))
    base = {"type": "fault-start", "t": 1, "wall": 100.0, "kind": "kill", "target": "svc"}
    restate_busy = {**base, "fault": 0, "in_flight": 0, "restate_in_flight": 7, "landed": True}
    in_window = {**base, "fault": 1, "in_flight": 3, "window_ms": 300, "landed": True}
    missed = {
        **base,
        "fault": 2,
        "in_flight": 3,
        "world_key": "p7",
        "window_ms": 300,
        "landed": False,
        "missed": "acted 510 ms after its event, outside its 300 ms window",
    }
    v = check_vacuity([*ok_ops, restate_busy, in_window, missed], min_ok=1, min_faults=2)
    assert v.valid is True
    assert "1 of 2 window faults landed in their window" in v.summary
    assert v.stats["window_faults"] == 2 and v.stats["window_faults_landed"] == 1
    # a missed window does not count, also while work was pending
    v = check_vacuity([*ok_ops, in_window, missed], 1, 2, pending_until=200.0)
    assert v.valid == "unknown"
    assert "fault 2 (kill svc on p7): acted 510 ms after its event" in v.summary


def test_vacuity_flags_a_service_that_fails_most_requests():
    def failed(i, error):
        return [
            {"type": "invoke", "t": i, "op": i, "key": f"k{i}"},
            {"type": "fail", "t": i + 0.5, "op": i, "error": error},
        ]

    ok_ops = history(*(op(i, "ok") for i in range(4)))
    answered = [r for i in range(10, 20) for r in failed(i, "HTTP 500: retries exhausted")]
    v = check_vacuity(ok_ops + answered + fault(3), min_ok=50, min_faults=1)
    assert v.valid is False and "requests that should succeed failed: 10 of 14" in v.summary
    assert v.counterexamples[0]["error"] == "HTTP 500: retries exhausted"
    # refused connections are what a fault does, not the service answering an error
    refused = [r for i in range(10, 20) for r in failed(i, "connect: refused")]
    assert check_vacuity(ok_ops + refused + fault(3), 50, 1).valid == "unknown"
    # a scenario that plans most requests to fail says so
    assert check_vacuity(ok_ops + answered + fault(3), 4, 1, max_failed=0.8).valid is True


def test_vacuity_counts_faults_while_work_is_pending():
    ok_ops = history(*(op(i, "ok") for i in range(10)))
    idle = [{"type": "fault-start", "t": 1, "wall": 100.0, "in_flight": 0}]
    assert check_vacuity(ok_ops + idle, min_ok=1, min_faults=1).valid == "unknown"
    assert check_vacuity(ok_ops + idle, 1, 1, pending_until=101.0).valid is True
    assert check_vacuity(ok_ops + idle, 1, 1, pending_until=99.0).valid == "unknown"
    recorded = [{**idle[0], "landed": False, "missed": "no request or invocation was in flight"}]
    v = check_vacuity(ok_ops + recorded, 1, 1, pending_until=101.0)
    assert v.valid is True and v.stats["faults_while_pending"] == 1
    assert "1 of them with nothing in flight at that moment" in v.summary


def test_combine_false_beats_unknown_beats_true():
    t, f, u = (Verdict("x", v, "") for v in (True, False, "unknown"))
    assert combine([t, t]) is True
    assert combine([t, u]) == "unknown"
    assert combine([u, f, t]) is False
    assert combine([]) == "unknown"


# -- effects: hand-written histories and ledgers ------------------------------------------


def call(op, key, outcome="applied", idem=None):
    return {"op": op, "key": key, "idem": idem, "outcome": outcome, "attempt": 1}


def effect(op, key, idem=None):
    return {"op": op, "key": key, "idem": idem}


def ledger(effects=(), calls=(), balances=()):
    return {"effects": list(effects), "calls": list(calls), "balances": list(balances)}


def create(i, outcome, key, status="completed"):
    return op(i, outcome, key=key, idem=f"create-{key}", handler="create", resp={"status": status})


def completed(r):
    return r["status"] == "completed"


def test_exactly_once_passes_one_charge_per_acknowledged_payment():
    from harness.checkers.effects import check_exactly_once

    h = history(create(1, "ok", "p1"), create(2, "ok", "p1"), create(3, "info", "p2"))
    led = ledger(
        [effect("charge", "p1", "k1")], [call("charge", "p1"), call("charge", "p1", "duplicate")]
    )
    v = check_exactly_once(h, led, "charge", "create", completed)
    assert v.valid is True
    assert v.stats["charge_calls"] == 2 and v.stats["deduplicated_calls"] == 1


def test_exactly_once_flags_double_lost_and_phantom_charges():
    from harness.checkers.effects import check_exactly_once

    h = history(
        create(1, "ok", "double"),
        create(2, "ok", "lost"),
        create(3, "ok", "phantom", status="declined"),
    )
    led = ledger(
        [
            effect("charge", "double", "a"),
            effect("charge", "double", "b"),
            effect("charge", "phantom", "c"),
        ]
    )
    v = check_exactly_once(h, led, "charge", "create", completed)
    assert v.valid is False
    problems = {c["key"]: c["problem"] for c in v.counterexamples}
    assert problems == {
        "double": "2 effective charges",
        "lost": "acknowledged as applied but no charge in the ledger",
        "phantom": "acknowledged as not applied but the ledger has a charge",
    }
    assert next(c for c in v.counterexamples if c["key"] == "double")["ops"] == [1]


def test_a_duplicated_effect_names_its_idempotency_keys_and_the_fault_before_each_copy():
    """Issue 36: the likely cause, from the ledger and the history: the calls carried no
    idempotency key (or another one each time), and which fault came before each extra
    copy; shown first in the counterexample and, over all keys, in the verdict."""
    from harness.checkers.effects import check_exactly_once

    h = history(create(1, "ok", "p1"), create(2, "ok", "p2"))
    kill = [{"type": "fault-start", "fault": 3, "kind": "kill", "target": "tickets",
             "wall": 1001.0}]  # fmt: skip

    def at(e, wall):
        return {**e, "wall": wall}

    bare = ledger([at(effect("email", "p1"), 1000.5), at(effect("email", "p1"), 1001.5)])
    v = check_exactly_once([*h[:2], *kill], bare, "email", "create", completed)
    assert v.valid is False
    (cx,) = v.counterexamples
    assert list(cx)[:2] == ["key", "cause"]
    assert cx["cause"].startswith("the email API was called without an idempotency key")
    assert "each extra copy came 0.5 s after kill -9 of tickets (fault 3)" in cx["cause"]
    assert v.cause == (
        "the email API was called without an idempotency key; 1 key(s) had 2 emails, "
        "1 extra copies, each after a fault (the last before it: kill -9 of tickets: 1, "
        "0.5 s after it at the median)"
    )
    fresh = ledger(
        [at(effect("email", "p2", "u-1"), 1000.5), at(effect("email", "p2", "u-2"), 1002.0)]
    )
    v = check_exactly_once(h[2:], fresh, "email", "create", completed)  # no fault at all
    assert "each email call carried another idempotency key" in v.cause
    assert "(u-1, u-2)" in v.counterexamples[0]["cause"]
    assert "with no fault before it" in v.counterexamples[0]["cause"]


def test_exactly_once_a_key_answered_only_with_failures_leaves_nothing_at_the_provider():
    """Issue 30: the client told "failed" while the provider charged, and nothing undid it,
    is a violation; charged and refunded is not; a failure beside an acknowledged success
    says nothing (another request won the key); a connection the client never made is not
    an answer."""
    from harness.checkers.effects import check_exactly_once

    def failed(i, key, error="HTTP 500: the bank did not answer"):
        return [
            *create(i, "fail", key)[:1],
            {"type": "fail", "op": i, "t": i + 0.5, "error": error},
        ]

    h = history(
        failed(1, "kept"),
        failed(2, "undone"),
        failed(3, "raced"),
        create(4, "ok", "raced"),
        failed(5, "unsent", "connect: refused"),
        create(6, "info", "retried"),  # a timed-out attempt, then its retry's answer
        failed(7, "retried"),
    )
    led = ledger(
        [
            effect("charge", "kept"),
            effect("charge", "undone"),
            effect("refund", "undone"),
            effect("charge", "raced"),
            effect("charge", "unsent"),
            effect("charge", "retried"),
        ]
    )
    v = check_exactly_once(h, led, "charge", "create", completed, undo="refund")
    assert v.valid is False and [c["key"] for c in v.counterexamples] == ["kept", "retried"]
    assert v.counterexamples[0]["problem"] == (
        "answered as failed (HTTP 500: the bank did not answer) but the ledger has a charge, "
        "never reversed by a refund"
    )
    assert v.stats["keys_answered_failed"] == 3  # kept, undone, retried
    v = check_exactly_once(h, led, "charge", "create", completed)  # no undo: undone kept too
    assert [c["key"] for c in v.counterexamples] == ["kept", "retried", "undone"]


def test_exactly_once_unknown_outcome_allows_zero_or_one():
    from harness.checkers.effects import check_exactly_once

    h = history(create(1, "info", "p"))
    one = ledger([effect("charge", "p")])
    assert check_exactly_once(h, one, "charge", "create", completed).valid is True
    # nothing acknowledged and no call at all (a route missing, a provider never reached):
    # the guarantee was not exercised, which is unknown, not held
    v = check_exactly_once(h, ledger(), "charge", "create", completed)
    assert v.valid == "unknown" and v.summary.startswith("not exercised")
    declined = ledger([], [call("charge", "p", outcome="declined")])
    assert check_exactly_once(h, declined, "charge", "create", completed).valid is True


def test_exactly_once_a_timeout_then_a_retrys_definite_answer_is_that_answer():
    """A payment answered 'declined' on the retry of a timed-out attempt (same idempotency
    key) but charged in the ledger: the answer says not applied, so the charge is flagged
    (issue 15: the timeout used to make the whole key unknown)."""
    from harness.checkers.effects import check_exactly_once

    h = history(create(1, "info", "p"), create(2, "ok", "p", status="declined"))
    one = ledger([effect("charge", "p")])
    v = check_exactly_once(h, one, "charge", "create", completed)
    assert v.valid is False
    assert (
        v.counterexamples[0]["problem"] == "acknowledged as not applied but the ledger has a charge"
    )
    # another request of the key whose outcome stayed unknown still allows the charge
    other = op(3, "info", key="p", idem="create-p-again", handler="create")
    assert check_exactly_once(h + history(other), one, "charge", "create", completed).valid


def test_idempotent_response():
    from harness.checkers.effects import check_idempotent_response

    same = history(op(1, "ok", idem="k", resp={"v": 1}), op(2, "ok", idem="k", resp={"v": 1}))
    assert check_idempotent_response(same, "add").valid is True
    diff = history(op(1, "ok", idem="k", resp={"v": 1}), op(2, "ok", idem="k", resp={"v": 2}))
    v = check_idempotent_response(diff, "add")
    assert v.valid is False and v.counterexamples[0]["ops"] == [1, 2]


def test_single_winner():
    from harness.checkers.effects import check_single_winner

    def reserve(i, key, idem, won):
        return op(i, "ok", key=key, idem=idem, handler="reserve", resp={"reserved": won})

    ok = history(
        reserve(1, "x", "r1", True), reserve(2, "x", "r2", False), reserve(3, "x", "r1", True)
    )
    assert check_single_winner(ok, "reserve", lambda r: r["reserved"], "w").valid is True
    bad = history(reserve(1, "x", "r1", True), reserve(2, "x", "r2", True))
    v = check_single_winner(bad, "reserve", lambda r: r["reserved"], "w")
    assert v.valid is False and v.counterexamples[0]["winners"] == ["r1", "r2"]
    assert v.counterexamples[0]["problem"] == "2 acknowledged winners"


def test_balances():
    from harness.checkers.effects import check_balances

    led = ledger(balances=[{"account": "a", "balance": 90}, {"account": "b", "balance": 5}])
    assert check_balances(led, {"a": 90, "b": 5}).valid is True
    v = check_balances(led, {"a": 100, "b": 5})
    assert v.valid is False and v.counterexamples == [
        {"account": "a", "expected": 100, "actual": 90, "diff": -10}
    ]


# -- sagas -----------------------------------------------------------------------------


def saga_ledger(*effects):
    return ledger([{"id": i, "op": op, "key": key} for i, (op, key) in enumerate(effects)])


def book(i, saga, outcome):
    return op(i, outcome, idem=saga, handler="book", resp={"status": "booked"})


STEPS = ["flight", "car", "hotel"]


def test_saga_success_and_reverse_compensation_pass():
    from harness.checkers.saga import check_saga

    led = saga_ledger(
        ("reserve", "a:flight"),
        ("reserve", "a:car"),
        ("reserve", "a:hotel"),
        ("reserve", "b:flight"),
        ("reserve", "b:car"),
        ("cancel", "b:car"),
        ("cancel", "b:flight"),
    )
    h = history(book(1, "a", "ok"), book(2, "b", "fail"))
    plan = {"a": (STEPS, None), "b": (STEPS, 2)}
    v = check_saga(h, led, plan, handler="book")
    assert v.valid is True and v.stats["failed"] == 1


def test_saga_flags_order_dangling_double_and_wrong_answers():
    from harness.checkers.saga import check_saga

    led = saga_ledger(
        ("reserve", "fwd:flight"),
        ("reserve", "fwd:car"),
        ("cancel", "fwd:flight"),
        ("cancel", "fwd:car"),  # forward order
        ("reserve", "dang:flight"),
        ("reserve", "dang:car"),
        ("cancel", "dang:flight"),
        ("reserve", "dbl:flight"),
        ("reserve", "dbl:flight"),  # applied twice
        ("reserve", "dbl:car"),
        ("reserve", "dbl:hotel"),
        ("reserve", "never:flight"),
        ("reserve", "never:car"),
        ("reserve", "never:hotel"),
    )
    plan = {"fwd": (STEPS, 2), "dang": (STEPS, 2), "dbl": (STEPS, None), "never": (STEPS, 1)}
    v = check_saga(history(book(1, "fwd", "ok")), led, plan, handler="book")
    problems = {c["key"]: c["problem"] for c in v.counterexamples}
    assert v.valid is False and set(problems) == {"fwd", "dang", "dbl", "never"}
    assert "not the reverse" in problems["fwd"] and "client saw success" in problems["fwd"]
    assert "left applied: ['car']" in problems["dang"]
    assert "applied more than once: ['flight']" in problems["dbl"]
    assert "can never succeed" in problems["never"]


def test_a_saga_never_compensated_names_why_from_what_the_client_saw():
    """restatedev/examples' tour: a chapter without compensation (the client told of the
    failure, nothing undone), and a saga retrying a permanent failure (never answered, so
    its compensation never runs)."""
    from harness.checkers.saga import check_saga

    led = saga_ledger(("reserve", "told:flight"), ("reserve", "stuck:flight"))
    plan = {"told": (STEPS, 1), "stuck": (STEPS, 1)}
    v = check_saga(history(book(1, "told", "fail"), book(2, "stuck", None)), led, plan, "book")
    assert v.valid is False
    assert "1 saga(s) failed, the client was told so, and not one" in v.cause
    assert "1 saga(s) never ended (no answer to the client)" in v.cause


def test_saga_unplanned_clean_failure_is_allowed_when_a_fault_hit_it_and_counted():
    from harness.checkers.saga import check_saga

    led = saga_ledger(("reserve", "a:flight"), ("cancel", "a:flight"))
    kill = [{"type": "fault-start", "t": 1.2, "fault": 0, "kind": "kill", "target": "trips"}]
    v = check_saga(history(book(1, "a", "fail")) + kill, led, {"a": (STEPS, None)}, "book")
    assert v.valid is True and v.stats["failed_unplanned"] == 1


def test_saga_failure_that_neither_the_plan_nor_a_fault_explains_is_a_violation():
    """Issue 15: a retry budget below the injected transient failures fails sagas that were
    planned to succeed, with nothing crashing: not a clean failure."""
    from harness.checkers.saga import check_saga

    led = saga_ledger(("reserve", "a:flight"), ("cancel", "a:flight"))
    late = [{"type": "fault-start", "t": 9.0, "fault": 0, "kind": "kill", "target": "trips"}]
    v = check_saga(history(book(1, "a", "fail")) + late, led, {"a": (STEPS, None)}, "book")
    assert v.valid is False and v.stats["failed_unexplained"] == 1
    assert "no step was planned to fail and no fault hit it" in v.counterexamples[0]["problem"]


def test_saga_undo_must_give_back_what_its_step_took():
    """Issue 30: a refund of part of a charge, or a cancel of another resource, is not an
    undo of the step; a refund without an amount refunds all of it."""
    from harness.checkers.saga import check_saga

    def e(i, op, key, **fields):
        return {"id": i, "op": op, "key": key, "amount": None, "resource": None, **fields}

    steps = ["pay", "netflix"]
    led = ledger(
        [
            e(1, "charge", "part:pay", amount=100),
            e(2, "refund", "part:pay", amount=90),  # keeps 10
            e(3, "reserve", "other:pay", resource="seat-1"),
            e(4, "cancel", "other:pay", resource="seat-2"),  # releases another seat
            e(5, "charge", "whole:pay", amount=100),
            e(6, "refund", "whole:pay"),  # no amount: the whole charge
            e(7, "charge", "exact:pay", amount=100),
            e(8, "refund", "exact:pay", amount=100),
        ]
    )
    plan = {s: (steps, 1) for s in ("part", "other", "whole", "exact")}
    h = history(*(book(i, s, "fail") for i, s in enumerate(plan)))
    v = check_saga(h, led, plan, handler="book")
    problems = {c["key"]: c["problem"] for c in v.counterexamples}
    assert v.valid is False and set(problems) == {"part", "other"}
    assert "pay not given back as taken: refund of 90 for a charge of 100" in problems["part"]
    assert "cancel of resource 'seat-2' for a reserve of 'seat-1'" in problems["other"]
    assert v.stats["undos_compared"] == 4 and v.stats["undos_not_as_taken"] == 2
    assert "gave back another amount, resource or account" in v.cause


# -- object state ----------------------------------------------------------------------


def add(i, key, member, outcome="ok", t=None, done=None):
    inv = {
        "type": "invoke",
        "op": i,
        "t": t if t is not None else i,
        "handler": "add",
        "key": key,
        "idem": f"i{i}",
        "req": {"m": member},
    }
    if outcome is None:
        return [inv]
    return [
        inv,
        {"type": outcome, "op": i, "t": done if done is not None else inv["t"] + 0.5, "resp": []},
    ]


def read(i, key, seen, t, done):
    return [
        {"type": "invoke", "op": i, "t": t, "handler": "list", "key": key},
        {"type": "ok", "op": i, "t": done, "resp": seen},
    ]


def member(req):
    return req["m"]


def test_set_members():
    from harness.checkers.state import check_set_members

    h = history(add(1, "u", "a"), add(2, "u", "b"), add(3, "u", "c", "info"))
    assert check_set_members(h, {"u": ["a", "b"]}, "add", member).valid is True
    assert check_set_members(h, {"u": ["a", "b", "c"]}, "add", member).valid is True
    v = check_set_members(h, {"u": ["a", "a", "x"]}, "add", member)
    assert v.valid is False
    assert v.counterexamples[0]["problem"] == "duplicates ['a']; lost ['b']; never sent ['x']"
    # a key whose final read got no answer (wedged: restatedev/examples' tour object with a
    # journal mismatch) is not judged, never "lost" against a stale read
    two = history(add(1, "u", "a"), add(2, "w", "b"))
    v = check_set_members(two, {"u": ["a"]}, "add", member)
    assert v.valid == "unknown" and "1 key(s) not judged" in v.summary, v.summary
    v = check_set_members(two, {"u": []}, "add", member)
    assert v.valid is False and "1 key(s) not judged" in v.summary


def test_shared_reads_overtake_and_see_acknowledged_state():
    from harness.checkers.state import check_shared_reads

    write = add(1, "u", "a", t=0.0, done=1.0)
    final = {"u": ["a"]}
    overtaking = history(write, read(2, "u", [], t=0.1, done=0.2))
    assert check_shared_reads(overtaking, final, "add", "list", member).valid is True
    queued = history(write, read(2, "u", ["a"], t=0.1, done=1.1))
    assert check_shared_reads(queued, final, "add", "list", member).valid is False
    stale = history(write, read(2, "u", [], t=1.5, done=1.6))  # misses an acknowledged add
    v = check_shared_reads(stale, final, "add", "list", member)
    assert v.valid is False and v.counterexamples[0]["missing"] == ["a"]
    assert check_shared_reads(history(write), final, "add", "list", member).valid == "unknown"
    # the likely cause of queued reads: the read handler's kind, as Restate discovered it
    queued[2]["service"] = "Subs"
    kinds = {"services": {"subs": {"handler_kinds": {"Subs/list": "Exclusive"}}}}
    v = check_shared_reads(queued, final, "add", "list", member, manifest=kinds)
    assert v.cause.startswith("the read handler Subs/list is registered as exclusive")
    assert v.counterexamples[0]["cause"] == v.cause
    # a key without a final read (wedged): its reads are held to what was acknowledged only,
    # never called "outside final" against an empty final state
    wedged = history(write, read(2, "u", ["a"], t=1.5, done=1.6))
    assert check_shared_reads(wedged, {}, "add", "list", member).valid is not False


# -- timers ----------------------------------------------------------------------------


def buy(i, ticket, outcome, sent, answered, delay=2.0):
    inv = {
        "type": "invoke",
        "op": i,
        "t": sent,
        "wall": 1000 + sent,
        "handler": "buy",
        "req": {"ticket": ticket, "delay": delay},
    }
    if outcome is None:
        return [inv]
    return [inv, {"type": outcome, "op": i, "t": answered, "wall": 1000 + answered}]


def fired(key, at):
    return {"op": "email", "key": key, "wall": 1000 + at}


def timer_of(o):
    return f"{o.invoke['req']['ticket']}:r", o.invoke["req"]["delay"]


def downtime(i, target, start, end):
    """A fault on `target` from `start` until it served again at `end` (history seconds)."""
    return [
        {"type": "fault-start", "fault": i, "kind": "kill", "target": target,
         "t": start, "wall": 1000 + start},
        {"type": "fault-end", "fault": i, "kind": "kill", "target": target,
         "t": end, "wall": 1000 + end},
    ]  # fmt: skip


def lag(at, max_ms, cpu_wait=0.0):
    """The harness's lag record at `at`: its worst wake-up lag, and the machine's CPU wait."""
    return [{"type": "lag", "t": at, "wall": 1000 + at, "max_ms": max_ms, "cpu_wait": cpu_wait}]


def test_timers_fire_once_not_early_not_late():
    from harness.checkers.timers import check_timers

    h = history(buy(1, "a", "ok", 0.0, 0.5), buy(2, "b", "info", 1.0, 1.5))
    on_time = ledger([fired("a:r", 2.3)])  # due between 2.0 and 2.5
    v = check_timers(h, on_time, "buy", timer_of, {})
    assert v.valid is True and v.stats["fired"] == 1
    early = ledger([fired("a:r", 1.9)])
    assert check_timers(h, early, "buy", timer_of, {}).valid is False
    twice = ledger([fired("a:r", 2.2), fired("a:r", 2.4)])
    v = check_timers(h, twice, "buy", timer_of, {})
    assert v.valid is False and "fired 2 times" in v.counterexamples[0]["problem"]
    never = ledger([], [call("email", "x:other")])  # the world saw other calls
    v = check_timers(h, never, "buy", timer_of, {})
    assert v.valid is False and v.counterexamples[0]["problem"] == "never fired"
    v = check_timers(h, ledger([]), "buy", timer_of, {})  # the service never calls the world
    assert v.valid == "unknown" and "not one call reached the world" in v.summary


def test_a_timer_whose_every_request_was_answered_failed_must_not_fire():
    """Issue 30: the client was told the request failed, so the timer it would set was not
    set; a failure beside an unknown outcome says nothing."""
    from harness.checkers.timers import check_timers

    h = history(buy(1, "a", "fail", 0.0, 0.5), buy(2, "b", "fail", 1.0, 1.5))
    h += history(buy(3, "b", "info", 1.0, 1.5))
    v = check_timers(h, ledger([fired("a:r", 2.3), fired("b:r", 3.3)]), "buy", timer_of, {})
    assert v.valid is False and [c["key"] for c in v.counterexamples] == ["a:r"]
    assert v.counterexamples[0]["problem"] == (
        "fired, but every request that set it was answered as failed"
    )


def test_a_timer_due_after_the_run_is_not_judged_and_one_due_within_it_still_is():
    """Issue 36: a reminder a day away is due after the run: counted and unknown, never
    "never fired"; one due within the run and not fired is still violated."""
    from harness.checkers.timers import check_timers

    until = {"observed_until": 1000 + 60.0}  # the run read its state at 60 s
    day = [buy(1, "a", "ok", 0.0, 0.5, delay=86400.0), buy(2, "b", "ok", 1.0, 1.5, delay=86400.0)]
    v = check_timers(history(*day), ledger([]), "buy", timer_of, until)
    assert v.valid == "unknown" and v.stats["due_after_run"] == 2, v.summary
    assert "2 of 2 timers are due after the run (the first in 23 h 59 min)" in v.summary
    mixed = history(day[0], buy(3, "c", "ok", 2.0, 2.5))  # c due at 4.5 s
    v = check_timers(mixed, ledger([fired("c:r", 4.6)]), "buy", timer_of, until)
    assert v.valid is True and "1 of 2 timers are due after the run" in v.summary
    v = check_timers(mixed, ledger([], [call("email", "x")]), "buy", timer_of, until)  # c: never
    assert v.valid is False and v.counterexamples[0]["problem"] == "never fired"
    assert [c["key"] for c in v.counterexamples] == ["c:r"]
    # a run recorded before observed_until: as before
    other = ledger([], [call("email", "x")])
    assert check_timers(history(*day), other, "buy", timer_of, {}).valid is False


def test_lateness_is_bounded_by_what_the_run_measured_not_a_constant():
    """A timer due during an outage, or during the catch-up after it (as long again,
    stretched by the machine's CPU wait then), may fire as late as the catch-up's end, plus
    a retry per fault (the retry policy's max interval), the lateness of timers and requests
    no fault touched (the baseline) and the harness's worst lag (noise); past that it is
    violated, with the bound and how it was made; past it while the harness was stalled at
    least as long as the excess: unknown."""
    from harness.checkers.timers import check_timers

    manifest = {"server_config": {"retry": {"max_interval": "250ms"}}}
    buys = [buy(1, "a", "ok", 0.0, 0.5), buy(2, "b", "ok", 10.0, 10.5)]  # b due by 12.5
    free = fired("a:r", 2.9)  # no fault touched it: 0.4 s late; the requests took 0.5 s
    calm = lag(12.0, 0)  # no CPU wait around the fault: its catch-up is as long as it
    # the server down from 11 to 14, caught up by 17: b may be 4.5 + 0.25 + 0.5 = 5.25 s late
    within = history(*buys, downtime(0, "server", 11.0, 14.0), calm)
    v = check_timers(within, ledger([free, fired("b:r", 17.5)]), "buy", timer_of, manifest)
    assert v.valid is True, v.summary
    assert v.stats["lateness_bound"]["baseline_s"] == 0.5
    assert "0.50s baseline (the latest of 1 timers no fault touched; p99 0.50s of 2" in v.summary
    v = check_timers(within, ledger([free, fired("b:r", 18.0)]), "buy", timer_of, manifest)
    assert v.valid is False
    (cx,) = v.counterexamples
    assert "fired 5.50s after it was due (bound 5.30s: 4.50s until the outages" in cx["problem"]
    assert "1 x 0.25s retry (kill -9 of server (fault 0))" in cx["problem"]
    # a starved machine (some task waiting for a CPU 70% of the time) drains slower
    starved = history(*buys, downtime(0, "server", 11.0, 14.0), lag(12.0, 0, cpu_wait=0.7))
    v = check_timers(starved, ledger([free, fired("b:r", 19.5)]), "buy", timer_of, manifest)
    assert v.valid is True and v.stats["lateness_bound"]["max_catch_up_s"] == 5.1, v.summary
    # the harness's worst lag in the run, and its 0.05 s tick, are noise in the bound; a timer
    # beyond that while the harness's own loop stalled there at least the excess: unknown
    stalled = history(*buys, downtime(0, "server", 11.0, 14.0), calm, lag(17.0, 500))
    v = check_timers(stalled, ledger([free, fired("b:r", 18.0)]), "buy", timer_of, manifest)
    assert v.valid is True and "0.55s noise" in v.summary
    v = check_timers(stalled, ledger([free, fired("b:r", 18.6)]), "buy", timer_of, manifest)
    assert v.valid == "unknown" and "the harness itself was stalled 0.50s" in v.summary
    # a constant bound (the old 5-20 s) passes a timer whose wait restarted at a kill long
    # before it was due; the measured one does not: that kill explains nothing of it
    restarted = history(*buys, downtime(0, "service", 11.0, 11.5), calm)
    v = check_timers(restarted, ledger([free, fired("b:r", 15.5)]), "buy", timer_of, manifest)
    assert v.valid is False and "bound 0.55s" in v.counterexamples[0]["problem"]
    # no timer or request free of faults: no baseline, so beyond the faults' share is
    # unknown (and without the machine's CPU wait, the catch-up is taken as twice the outage)
    alone = history(buys[1], downtime(0, "server", 10.2, 14.0))
    v = check_timers(alone, ledger([fired("b:r", 23.0)]), "buy", timer_of, manifest)
    assert v.valid == "unknown" and "no baseline" in v.summary
    assert v.stats["lateness_bound"]["max_catch_up_s"] == 7.6


# -- state machine transitions -----------------------------------------------------------


def tcall(seq, op, key, inv, to, wall):
    return {
        "seq": seq,
        "op": op,
        "key": key,
        "idem": f"{op}-{inv}",
        "outcome": "applied",
        "wall": wall,
        "request": json.dumps({"to": to}),
    }


def run_of(seq, key, inv, begin, end, to=None):
    """The world's begin (and end, unless None) calls of one transition / event."""
    calls = [tcall(seq, "begin", key, inv, to, begin)]
    return calls + ([tcall(seq + 1, "end", key, inv, to, end)] if end is not None else [])


def setup(i, key, answer, outcome="ok"):
    inv = {"type": "invoke", "op": i, "t": i, "handler": "setUp", "key": key, "idem": f"i{i}"}
    return [inv, {"type": outcome, "op": i, "t": i + 0.1, "resp": answer}]


def test_transitions_valid_sequential_path_passes_and_overlap_fails():
    from harness.checkers.transitions import check_transitions

    states = {"setUp": "UP", "tearDown": "DOWN"}
    good = ledger(
        calls=[
            tcall(1, "begin", "m", "a", "UP", 1.0),
            tcall(2, "end", "m", "a", "UP", 2.0),
            tcall(3, "begin", "m", "b", "DOWN", 2.5),
            tcall(4, "end", "m", "b", "DOWN", 3.0),
        ]
    )
    h = history(
        setup(1, "m", "m is now up"),
        setup(2, "m", "m is now up"),  # a duplicate ack
        setup(3, "m", "m is now down"),
    )
    h[2]["idem"] = "i1"
    h[4]["handler"] = "tearDown"
    v = check_transitions(h, good, {"m": "DOWN"}, states, "DOWN")
    assert v.valid is True, v.counterexamples
    bad = ledger(
        calls=[
            tcall(1, "begin", "m", "a", "UP", 1.0),
            tcall(2, "begin", "m", "b", "UP", 1.5),
            tcall(3, "end", "m", "a", "UP", 2.0),
            tcall(4, "end", "m", "b", "UP", 3.0),
        ]
    )
    v = check_transitions([], bad, {"m": "UP"}, states, "DOWN")
    assert v.valid is False
    assert "overlap" in v.counterexamples[0]["problem"]
    assert "invalid path DOWN -> UP -> UP" in v.counterexamples[0]["problem"]


def slow_and_others(slow, others, seq=1):
    """Calls of slow transitions [(begin, end)] on key "s" and other keys' [(begin, end)]."""
    calls = []
    for i, (b, e) in enumerate(slow):
        calls += run_of(seq, "s", f"s{i}", b, e, "UP")
        seq += 2
    for i, (b, e) in enumerate(others):
        calls += run_of(seq, f"m{i % 3}", f"o{i}", b, e, "UP")
        seq += 2
    return ledger(calls=calls)


SLOW = [(10.0 * i, 10.0 * i + 1.0) for i in range(6)]  # six slow transitions of 1 s


def test_not_held_up_serialization_witness():
    """Issue 30: a process-wide lock lets no other key's transition run beside a slow one
    (0 of 6: violated); an isolated service lets them (held); one beside 1 of 6 (17%) is in
    the gap between the bands: unknown, with the figures; so is a run whose other keys
    had no work left near the slow ones."""
    from harness.checkers.transitions import check_not_held_up

    after = [(10.0 * i + 1.1, 10.0 * i + 1.15) for i in range(6)]  # each waited for it
    v = check_not_held_up(slow_and_others(SLOW, after), {"s"}, equal_work=False)
    assert v.valid is False and v.stats["serialization_share"] == 0.0
    assert v.summary.startswith("held up: another key's transition ran beside 0 of the 6 slow")
    assert v.counterexamples[0]["problem"] == "no other key's transition ran beside it"
    beside = [(10.0 * i + 0.2, 10.0 * i + 0.25) for i in range(6)]
    v = check_not_held_up(slow_and_others(SLOW, beside), {"s"}, equal_work=False)
    assert v.valid is True and "durations not compared: the other keys do unequal work" in (
        v.summary
    )
    v = check_not_held_up(slow_and_others(SLOW, beside[:1] + after[1:]), {"s"}, equal_work=False)
    assert v.valid == "unknown" and v.summary.startswith("cannot tell")
    # the other keys' work all done before the slow ones: nothing could run beside them
    done_before = [(-5.0 + 0.1 * i, -4.95 + 0.1 * i) for i in range(6)]
    v = check_not_held_up(slow_and_others(SLOW, done_before), {"s"}, equal_work=False)
    assert v.valid == "unknown" and v.stats["slow_with_others_near"] == 0


def test_not_held_up_waiting_witness_and_faults():
    """A blocked event loop: other keys' transitions still overlap the slow ones but take
    10x as long as those that overlap none (violated); about as long: held. Transitions
    that overlap a fault are left out; a slow key no slower than the others: unknown."""
    from harness.checkers.transitions import check_not_held_up

    clear = [(10.0 * i + 5.0, 10.0 * i + 5.1) for i in range(6)]
    stretched = [(10.0 * i + 0.1, 10.0 * i + 1.1) for i in range(6)]  # 1 s, 10x
    v = check_not_held_up(slow_and_others(SLOW, clear + stretched), {"s"})
    assert v.valid is False and v.stats["waiting_ratio"] == 10.0
    assert v.counterexamples[0]["problem"] == "waited for a slow key's transition"
    unhurried = [(10.0 * i + 0.1, 10.0 * i + 0.21) for i in range(6)]
    v = check_not_held_up(slow_and_others(SLOW, clear + unhurried), {"s"})
    assert v.valid is True and v.stats["waiting_ratio"] == 1.1
    # the stretched ones all overlap a fault: left out, and the rest clears the service
    kill = {"fault": 0, "kind": "kill", "target": "m"}
    fault = [
        {"type": "fault-start", **kill, "wall": 0.0},
        {"type": "fault-end", **kill, "wall": 3.0},
    ]
    one = slow_and_others(SLOW[:1], stretched[:1])
    assert check_not_held_up(one, {"s"}, fault).stats["slow_transitions"] == 0
    even = slow_and_others(SLOW, [(10.0 * i + 5.0, 10.0 * i + 6.5) for i in range(6)])
    v = check_not_held_up(even, {"s"})
    assert v.valid == "unknown" and "took no longer than the others'" in v.summary
    v = check_not_held_up(ledger(), {"s"})
    assert v.valid == "unknown" and v.summary == "no slow transition happened outside faults"


# -- fan-out / fan-in --------------------------------------------------------------------


def job(i, tid, n, total, outcome="ok"):
    inv = {
        "type": "invoke",
        "op": i,
        "t": i,
        "handler": "run",
        "key": tid,
        "idem": tid,
        "req": {"subtasks": n},
    }
    return [inv, {"type": outcome, "op": i, "t": i + 1, "resp": {"total": total}}]


def ev(key, amount, wall=1.0):
    return {"op": "event", "key": key, "amount": amount, "wall": wall}


def test_fanout_sum_and_once():
    from harness.checkers.fanout import check_fanout

    good = ledger([ev("j:0", 2), ev("j:1", 3), ev("j:aggregate", 5)])
    assert check_fanout(history(job(1, "j", 2, 5)), good, "run").valid is True
    doubled = ledger([ev("j:0", 2), ev("j:0", 2), ev("j:1", 3), ev("j:aggregate", 5)])
    v = check_fanout(history(job(1, "j", 2, 5)), doubled, "run")
    assert (
        v.valid is False
        and "subtasks done more than once: ['0']" in v.counterexamples[0]["problem"]
    )
    lost = ledger([ev("j:0", 2), ev("j:aggregate", 2)])
    v = check_fanout(history(job(1, "j", 2, 2)), lost, "run")
    assert v.valid is False and "1 of 2 subtasks" in v.counterexamples[0]["problem"]
    wrong = ledger([ev("j:0", 2), ev("j:1", 3), ev("j:aggregate", 6)])
    v = check_fanout(history(job(1, "j", 2, 6)), wrong, "run")
    assert (
        v.valid is False and "aggregate 6 != sum of subtasks 5" in v.counterexamples[0]["problem"]
    )


def test_fanout_flags_a_missing_aggregate_and_one_recorded_before_its_subtasks():
    """Issue 15: completeness (a background aggregate a kill lost) and preconditions."""
    from harness.checkers.fanout import check_fanout

    missing = ledger([ev("j:0", 2), ev("j:1", 3)])
    v = check_fanout(history(job(1, "j", 2, 5)), missing, "run")
    assert v.valid is False and "no aggregate in the ledger" in v.counterexamples[0]["problem"]
    # a service that keeps its aggregate to itself (the contract's aggregate_recorded):
    # its total is still checked against the subtasks
    v = check_fanout(history(job(1, "j", 2, 5)), missing, "run", aggregate_recorded=False)
    assert v.valid is True, v.counterexamples
    v = check_fanout(history(job(1, "j", 2, 4)), missing, "run", aggregate_recorded=False)
    assert v.valid is False and "subtasks sum to 5" in v.counterexamples[0]["problem"]
    early = ledger([ev("j:0", 2, 1.0), ev("j:aggregate", 5, 1.5), ev("j:1", 3, 2.0)])
    v = check_fanout(history(job(1, "j", 2, 5)), early, "run")
    assert v.valid is False and "before its last subtask" in v.counterexamples[0]["problem"]


# -- schedules (reminders, escalation, stopped by a success) ------------------------------


def failure(i, inv, sent, outcome="ok"):
    inv_rec = {"type": "invoke", "op": i, "t": sent, "wall": 1000 + sent}
    inv_rec.update(handler="onPaymentFailure", key=inv, idem=f"e{i}")
    return [inv_rec, {"type": outcome, "op": i, "t": sent + 0.01, "wall": 1000.01 + sent}]


def step(inv, kind, at, n=None):
    return {"op": "email", "key": f"{inv}:{kind}", "wall": 1000 + at, "resource": n}


def check_sched(effects):
    from harness.checkers.schedule import check_schedule

    h = history(failure(1, "a", 0.0))
    return check_schedule(h, ledger(effects), "onPaymentFailure", lambda o: o.key, 3, 1.0, {})


def test_schedule_full_run_and_stopped_by_success_pass():
    full = [step("a", "reminder", t, str(n)) for n, t in ((1, 0.1), (2, 1.2), (3, 2.3))]
    v = check_sched([*full, step("a", "escalation", 3.4)])
    assert v.valid is True and v.stats["timers_fired"] == 3 and v.stats["escalations"] == 1
    v = check_sched([*full[:2], step("a", "paid", 1.9)])
    assert v.valid is True and v.stats["stopped_by_success"] == 1


def test_reminders_without_numbers_are_held_to_their_count_and_times():
    unnumbered = [step("a", "reminder", t, None) for t in (0.1, 1.2, 2.3)]
    assert check_sched([*unnumbered, step("a", "escalation", 3.4)]).valid is True
    v = check_sched([*unnumbered, unnumbered[-1], step("a", "escalation", 3.4)])
    assert v.valid is False and "4 reminders, at most 3" in v.counterexamples[0]["problem"]


def test_a_schedule_with_no_world_call_at_all_is_unknown():
    from harness.checkers.schedule import check_schedule

    h = history(failure(1, "a", 0.0))
    v = check_schedule(h, ledger([]), "onPaymentFailure", lambda o: o.key, 3, 1.0, {})
    assert v.valid == "unknown" and "not one call reached the world" in v.summary


def test_schedule_flags_after_success_early_late_twice_and_missing():
    r1, r2 = step("a", "reminder", 0.1, "1"), step("a", "reminder", 1.2, "2")
    cases = {
        "after the payment succeeded": [r1, step("a", "paid", 0.5), r2],
        "before it was due": [r1, step("a", "reminder", 0.6, "2"), step("a", "paid", 0.9)],
        "not 1..2 once each": [r1, step("a", "reminder", 1.2, "1"), step("a", "paid", 1.5)],
        "unpaid, but 2 of 3 reminders": [r1, r2],
    }
    for problem, effects in cases.items():
        v = check_sched(effects)
        assert v.valid is False, problem
        assert problem in v.counterexamples[0]["problem"], v.counterexamples


def test_a_service_that_reminds_per_failure_event_is_judged_by_the_contracts_assumption():
    """restatedev/examples' tracker sends a reminder for every failure event: a second
    failure 0.5 s in sends reminder 2 at once. Early under the bundled assumption (one
    schedule per invoice), on time with each_failure_reminds; reminder 3 still keeps the
    interval after reminder 2."""
    from harness.checkers.schedule import check_schedule

    h = history(failure(1, "a", 0.0), failure(2, "a", 0.5))
    steps = [step("a", "reminder", t, str(n)) for n, t in ((1, 0.1), (2, 0.6), (3, 1.7))]
    led = ledger([*steps, step("a", "escalation", 2.8)])
    strict = check_schedule(h, led, "onPaymentFailure", lambda o: o.key, 3, 1.0, {})
    assert strict.valid is False and "before it was due" in strict.counterexamples[0]["problem"]
    v = check_schedule(h, led, "onPaymentFailure", lambda o: o.key, 3, 1.0, {},
                       each_start_reminds=True)  # fmt: skip
    assert v.valid is True, v.counterexamples
    early = ledger([*steps[:2], step("a", "reminder", 1.2, "3"), step("a", "escalation", 2.3)])
    v = check_schedule(h, early, "onPaymentFailure", lambda o: o.key, 3, 1.0, {},
                       each_start_reminds=True)  # fmt: skip
    assert v.valid is False and "before it was due" in v.counterexamples[0]["problem"]


def test_a_schedule_whose_next_step_is_due_after_the_run_is_not_judged():
    from harness.checkers.schedule import check_schedule

    h = history(failure(1, "a", 0.0))
    r1, r2 = step("a", "reminder", 0.1, "1"), step("a", "reminder", 1.2, "2")
    # the interval is 1 s; the run read its state 1.5 s in: reminder 3 due at 2.2 s, after it
    v = check_schedule(h, ledger([r1, r2]), "onPaymentFailure", lambda o: o.key, 3, 1.0,
                       {"observed_until": 1001.5})  # fmt: skip
    assert v.valid is True and v.stats["due_after_run"] == 1, v.summary
    assert "1 of 1 schedules' next steps are due after the run" in v.summary
    v = check_schedule(h, ledger([r1, r2]), "onPaymentFailure", lambda o: o.key, 3, 1.0,
                       {"observed_until": 1003.0})  # fmt: skip
    assert v.valid is False and "unpaid, but 2 of 3" in v.counterexamples[0]["problem"]
    v = check_schedule(h, ledger([r1]), "onPaymentFailure", lambda o: o.key, 3, 3600.0,
                       {"observed_until": 1003.0})  # fmt: skip
    assert v.valid == "unknown" and "in 59 min" in v.summary, v.summary


def test_schedule_stops_by_the_clients_clock_not_the_services_paid_record():
    """Issue 15: a service that defers the success moves its own "paid" record; a reminder
    that came due after Restate accepted the (delayed) success event is flagged anyway."""
    from harness.checkers.schedule import check_schedule

    success = {"type": "invoke", "op": 2, "t": 0.2, "wall": 1000.2, "handler": "onPaymentSuccess"}
    success.update(key="a", idem="s", delay_ms=500)  # accepted at 0.21, due at 0.71
    h = [
        *history(failure(1, "a", 0.0)),
        success,
        {"type": "ok", "op": 2, "t": 0.21, "wall": 1000.21},
    ]
    r1, r2 = step("a", "reminder", 0.1, "1"), step("a", "reminder", 1.2, "2")  # r2 due 1.1
    late_record = [r1, r2, step("a", "paid", 2.5)]  # the service recorded paid only at 2.5
    args = ("onPaymentFailure", lambda o: o.key, 3, 1.0)
    assert check_schedule(h, ledger(late_record), *args, manifest={}).valid is True  # old clock
    v = check_schedule(h, ledger(late_record), *args, manifest={}, stop_handler="onPaymentSuccess")
    assert v.valid is False and "came due after the success" in v.counterexamples[0]["problem"]
    assert v.counterexamples[0]["success_due"] == 1000.71
    nothing = check_schedule(h, ledger([step("a", "paid", 0.72)]), *args, manifest={},
                             stop_handler="onPaymentSuccess")  # fmt: skip
    assert nothing.valid is True  # paid before any reminder: no step at all
    on_time = [r1, step("a", "paid", 0.72)]  # stopped when the success came due
    held = check_schedule(h, ledger(on_time), *args, manifest={}, stop_handler="onPaymentSuccess")
    assert held.valid is True and held.stats["stopped_by_success"] == 1
    # restatedev/examples' tracker keeps "paid" to itself: no reminder at all is right when
    # the success may have come due before the failure was accepted, wrong when it could not
    early = {**success, "t": 0.0, "wall": 1000.0, "delay_ms": 0}
    h_early = [
        *history(failure(1, "a", 0.0)),
        early,
        {"type": "ok", "op": 2, "t": 0.3, "wall": 1000.3},
    ]
    v = check_schedule(h_early, ledger([]), *args, manifest={}, stop_handler="onPaymentSuccess")
    assert v.valid is not False and v.stats["stopped_by_success"] == 1, v.counterexamples
    v = check_schedule(h, ledger([step("a", "email", 0.0)]), *args, manifest={},
                       stop_handler="onPaymentSuccess")  # fmt: skip
    assert v.valid is False and "unpaid, but 0 of 3" in v.counterexamples[0]["problem"]


# -- payment signals (webhook vs durable timeout) -----------------------------------------


def pay(i, pid, status, sent=0.0):
    inv = {"type": "invoke", "op": i, "t": sent, "wall": 1000 + sent, "handler": "process"}
    inv["req"] = {"id": pid}
    if status is None:
        return [inv]
    answer = {"type": "ok", "op": i, "t": sent + 3, "wall": 1003 + sent}
    return [inv, {**answer, "resp": {"payment": pid, "status": status}}]


def at(op, key, wall):
    return {"op": op, "key": key, "wall": 1000 + wall}


def check_sig(h, effects):
    from harness.checkers.signals import check_signals

    return check_signals(h, ledger(effects), "process", lambda o: o.invoke["req"]["id"], 2.0)


def test_signals_confirmed_or_cancelled_once_pass():
    h = history(pay(1, "a", "confirmed"), pay(2, "b", "cancelled"), pay(3, "c", None))
    effects = [at("charge", "a", 0.1), at("webhook", "a", 0.5)]
    effects += [at("charge", "b", 0.1), at("cancel", "b", 2.2), at("webhook", "b", 3.0)]
    effects += [at("charge", "c", 0.1), at("cancel", "c", 2.3)]  # unanswered, but cancelled
    v = check_sig(h, effects)
    assert v.valid is True, v.counterexamples
    assert v.stats["late_webhooks_ignored"] == 1 and v.stats["unanswered"] == 1


def test_signals_flag_both_ways_twice_early_and_lost_confirmations():
    cases = {
        "confirmed to the client and cancelled": (
            "confirmed",
            [at("charge", "a", 0), at("webhook", "a", 1.5), at("cancel", "a", 2.1)],
        ),
        "cancelled 2 times": (
            "cancelled",
            [at("charge", "a", 0), at("cancel", "a", 2.1), at("cancel", "a", 2.4)],
        ),
        "before the timeout": ("cancelled", [at("charge", "a", 0), at("cancel", "a", 1.5)]),
        "confirmed without a delivered webhook": ("confirmed", [at("charge", "a", 0)]),
        "yet cancelled": (
            "cancelled",
            [at("charge", "a", 0), at("webhook", "a", 0.3), at("cancel", "a", 2.1)],
        ),
        "no webhook and never cancelled": (None, [at("charge", "a", 0)]),
    }
    for problem, (status, effects) in cases.items():
        v = check_sig(history(pay(1, "a", status)), effects)
        assert v.valid is False, problem
        assert problem in v.counterexamples[0]["problem"], (problem, v.counterexamples)


# -- sync to async: one delivery path -------------------------------------------------------


def req(i, handler, uid, outcome, resp=None):
    inv = {"type": "invoke", "op": i, "t": i, "wall": 1000 + i, "handler": handler, "key": uid}
    done = {"type": outcome, "op": i, "t": i + 0.5, "wall": 1000.5 + i}
    return [inv, {**done, "resp": resp} if outcome == "ok" else done]


def mail(uid, url=None):
    return {"op": "email", "key": f"{uid}:url", "wall": 1000, "resource": url or f"url/{uid}"}


def check_paths(h, effects):
    from harness.checkers.delivery import check_one_path

    return check_one_path(
        h,
        ledger(effects),
        "attach",
        "resultAsEmail",
        lambda o: o.key,
        lambda u: f"{u}:url",
        lambda u: f"url/{u}",
    )


def test_one_path_sync_or_one_email_passes():
    h = history(
        req(1, "attach", "a", "ok", "url/a"),
        req(2, "attach", "b", "info"),
        req(3, "resultAsEmail", "b", "ok", "emailed"),
        req(4, "attach", "c", "info"),
        req(5, "resultAsEmail", "c", "info"),  # unknown: its email may still come
    )
    v = check_paths(h, [mail("b")])
    assert v.valid is True and (v.stats["sync"], v.stats["email"]) == (1, 1)


def test_one_path_flags_both_twice_lost_and_wrong():
    cases = {
        "answered synchronously and emailed": (
            history(req(1, "attach", "a", "ok", "url/a")),
            [mail("a")],
        ),
        "emailed 2 times": (
            history(req(1, "attach", "a", "info"), req(2, "resultAsEmail", "a", "ok")),
            [mail("a"), mail("a")],
        ),
        "email acknowledged, never sent": (
            history(req(1, "attach", "a", "info"), req(2, "resultAsEmail", "a", "ok")),
            [],
        ),
        "never delivered": (history(req(1, "attach", "a", "info")), []),
        "expected 'url/a'": (history(req(1, "attach", "a", "ok", "url/x")), []),
    }
    for problem, (h, effects) in cases.items():
        v = check_paths(h, effects)
        assert v.valid is False, problem
        assert problem in v.counterexamples[0]["problem"], (problem, v.counterexamples)


# -- keyed event processing: order, once, enriched state ------------------------------------


def post(i, user, ev, sent, acked=True):
    inv = {"type": "invoke", "op": i, "t": sent, "wall": 1000 + sent, "handler": "processPost"}
    inv.update(key=user, req={"id": ev, "n": ev})
    done = {"type": "ok" if acked else "info", "op": i, "t": sent + 0.01}
    return [inv, {**done, "wall": 1000.01 + sent, "resp": {}}]


def test_key_order_in_sequence_passes_and_overlap_reorder_loss_fail():
    from harness.checkers.ordering import check_key_order

    h = history(post(1, "u", "e1", 0.0), post(2, "u", "e2", 0.1), post(3, "v", "f1", 0.0))
    ok = run_of(1, "u", "e1", 0.2, 0.5) + run_of(3, "u", "e2", 0.5, 0.6)
    ok += run_of(5, "v", "f1", 0.1, 0.2)
    v = check_key_order(h, ledger(calls=ok), "processPost", lambda o: o.invoke["req"]["id"])
    assert v.valid is True and v.stats["ordered_pairs"] == 1, v.counterexamples
    cases = {
        "e2 began before e1 (sent earlier) had finished": run_of(1, "u", "e1", 0.2, 0.5)
        + run_of(3, "u", "e2", 0.3, 0.6),
        "e2 accepted, never processed": run_of(1, "u", "e1", 0.2, 0.5),
        "e2 accepted, never finished": run_of(1, "u", "e1", 0.2, 0.5)
        + run_of(3, "u", "e2", 1, None),
    }
    for problem, calls in cases.items():
        calls = calls + run_of(9, "v", "f1", 0.1, 0.2)
        v = check_key_order(h, ledger(calls=calls), "processPost", lambda o: o.invoke["req"]["id"])
        assert v.valid is False and problem in v.counterexamples[0]["problem"], (problem, v)


def test_enriched_state_complete_passes_and_gaps_fail():
    from harness.checkers.ordering import check_enriched

    h = history(post(1, "p", 0, 0.0), post(2, "p", 1, 0.1), post(3, "p", 2, 0.2, acked=False))
    for r in h:
        r["handler"] = "update"
    h = post(0, "p", "reg", -1.0) + h
    h[0]["handler"] = "register"

    def check(locations):
        finals = {"p": locations}
        return check_enriched(h, finals, "register", "update", lambda o: o.invoke["req"])

    assert check([{"id": 0, "n": 0}, {"id": 1, "n": 1}]).valid is True  # the unknown one: either
    sent = [{"id": n, "n": n} for n in range(3)]
    assert check(sent).valid is True
    for problem, locations in {
        "1 accepted updates missing": sent[:1],
        "applied twice": [sent[0], sent[1], sent[1]],
        "out of the order sent": [sent[1], sent[0]],
        "never sent": [*sent, {"id": 9, "n": 9}],
    }.items():
        v = check(locations)
        assert v.valid is False and problem in v.counterexamples[0]["problem"], (problem, v)
    v = check_enriched(h, {}, "register", "update", lambda o: o.invoke["req"])
    assert "registration lost" in v.counterexamples[0]["problem"]


def run_data(records, invocations=(), journal=()):
    from pathlib import Path

    from harness.checkers.data import RunData

    ledger = {"calls": [], "effects": [], "balances": []}
    return RunData(Path("."), {}, records, ledger, list(invocations), list(journal))


def test_a_crashing_checker_is_unknown_with_its_traceback_and_the_others_stand():
    from harness.checkers.verdict import checker, evaluate

    @checker
    def check_reads_an_answer(records, name="answers are readable"):
        return Verdict(name, True, str(records[1]["resp"]["status"]))  # no such field

    h = history(op(1, "ok", resp={"paid": True}))
    verdicts = evaluate(lambda run: [check_reads_an_answer(run.records)], run_data(h))
    crashed, determinism, liveness = verdicts
    assert crashed.id == "reads_an_answer" and crashed.valid == "unknown"
    assert crashed.name == "answers are readable"
    assert "KeyError: 'status'" in crashed.summary
    assert "Traceback" in crashed.counterexamples[0]["traceback"]
    assert determinism.id == "determinism" and liveness.id == "liveness"


def test_a_crashing_checks_function_keeps_the_generic_findings():
    from harness.checkers.verdict import evaluate

    def checks(run):
        raise AttributeError("'str' object has no attribute 'get'")

    verdicts = evaluate(checks, run_data([]))
    assert [v.id for v in verdicts] == ["checks", "determinism", "liveness"]
    assert verdicts[0].valid == "unknown" and "AttributeError" in verdicts[0].summary


def test_an_adapter_that_raises_in_one_check_loses_that_verdict_only():
    """Issue 28: a scenario's checks are computed one by one (harness.Check): an adapter
    method that raises while a check reads final states through it loses that check's
    verdict (unknown, with the traceback, under its id), not the scenario's other ones."""
    from harness.checkers.verdict import Check, evaluate

    def final_state(answer):
        return answer["state"]  # the adapter's bug: the service answers {"status": ...}

    def checks(run):
        def counters():
            return Verdict("counters exact", True, str(final_state({"status": "UP"})))

        return [Check("counters", counters), Verdict("vacuity", True, "enough", id="vacuity")]

    verdicts = evaluate(checks, run_data([]))
    assert [v.id for v in verdicts] == ["counters", "vacuity", "determinism", "liveness"]
    assert verdicts[0].valid == "unknown" and "KeyError: 'state'" in verdicts[0].summary
    assert "the check 'counters' crashed" in verdicts[0].summary
    assert verdicts[1].valid is True
    ok = evaluate(lambda run: [Check("x", lambda: Verdict("x held", True, ""))], run_data([]))
    assert ok[0].id == "x" and ok[0].valid is True


def test_verdict_ids_are_stable_and_unique():
    from harness.checkers.effects import check_exactly_once
    from harness.checkers.verdict import evaluate

    ledger = {"calls": [], "effects": [], "balances": []}

    def checks(run):
        return [
            check_exactly_once(run.records, ledger, "charge", "create", lambda r: True),
            check_exactly_once(run.records, ledger, "refund", "refund", lambda r: True),
            check_counters(run.records, {}),
            check_counters(run.records, {}),
            check_counters(run.records, {}, id="counters:again"),
        ]

    ids = [v.id for v in evaluate(checks, run_data([]))]
    assert ids[:5] == [
        "exactly_once:charge",
        "exactly_once:refund",
        "counters",
        "counters#2",
        "counters:again",
    ]


def test_determinism_flags_journal_mismatches_with_their_evidence():
    from harness.checkers.determinism import check_determinism

    fault = [{"type": "fault-start", "t": 1, "in_flight": 3}]
    ok = {"id": "inv_1", "status": "completed"}
    bad = {
        "id": "inv_2",
        "target": "Payments/p7/create",
        "target_service_key": "p7",
        "status": "backing-off",
        "retry_count": 41,
        "last_failure": "[570 Journal mismatch] ... 'set state' (index '2')",
        "last_failure_error_code": 570,
    }
    journal = [{"id": "inv_2", "index": 0, "entry_type": "Command: Input"}]
    v = check_determinism([ok, bad], journal, fault)
    assert v.valid is False and "wedging 1 key(s): p7" in v.summary
    (cx,) = v.counterexamples
    assert cx["key"] == "p7" and cx["retry_count"] == 41 and cx["journal"] == journal
    assert check_determinism([ok], [], fault).valid is True
    assert check_determinism([ok], [], []).valid == "unknown"  # nothing was replayed


def test_quiesce_gives_up_on_what_waits_behind_a_journal_mismatch():
    """What the quiesce stops waiting for (after WEDGED_FOR): a mismatched invocation, and
    what waits on its key; not work elsewhere, which may still finish."""
    from harness.runtime.admin import wedged

    def row(handler, key, status, mismatch=False):
        return {
            "target_service_name": "DataUploadService",
            "target_service_key": key,
            "target": f"DataUploadService/{key}/{handler}",
            "status": status,
            **({"last_failure_error_code": "RT0016"} if mismatch else {}),
        }

    run = row("run", "u1", "backing-off", mismatch=True)
    email = row("resultAsEmail", "u1", "running")  # awaits the workflow's result
    queued = row("run", "u1", "pending")
    elsewhere = row("resultAsEmail", "u2", "running")
    keyless = row("run", None, "running")
    rows = [run, email, queued, elsewhere, keyless]
    assert [wedged(r, rows) for r in rows] == [True, True, True, False, False]


def test_liveness_groups_invocations_queued_behind_a_wedged_key():
    head = {
        "id": "inv_h",
        "target_service_name": "Payments",
        "target_service_key": "p7",
        "status": "backing-off",
        "retry_count": 9,
        "last_failure": "[570 Journal mismatch] x",
    }
    queued = {
        "id": "inv_q",
        "target_service_name": "Payments",
        "target_service_key": "p7",
        "status": "inboxed",
    }
    v = check_liveness([head, queued])
    assert v.valid is False and v.stats["wedged_keys"] == 1
    (cx,) = v.counterexamples
    assert cx["id"] == "inv_h" and cx["blocked_behind_it"] == ["inv_q"]
    assert "journal mismatch on every replay (attempt 9)" in cx["problem"]


def test_failed_final_reads_are_liveness_evidence_and_failures_are_summarised():
    from harness.checkers.verdict import evaluate

    read = op(7, "info", key="p7", handler="get")
    read[0]["check_read"] = True
    read[1]["error"] = "TimeoutError: "
    failed = op(8, "fail", key="p8", handler="create")
    failed[1]["error"] = "HTTP 400: bad body"
    verdicts = evaluate(lambda run: [], run_data(history(read, failed)))
    liveness = verdicts[-1]
    assert liveness.valid is False and liveness.stats["failed_final_reads"] == 1
    assert liveness.counterexamples[0]["key"] == "p7"
    reasons = {f["error"]: f["count"] for f in liveness.stats["common_failures"]}
    assert reasons == {"TimeoutError: ": 1, "HTTP 400: bad body": 1}
    # a read slow at first and answered on its next attempt never failed
    again = op(9, "ok", key="p7", handler="get")
    again[0]["check_read"] = True
    verdicts = evaluate(lambda run: [], run_data(history(read, again)))
    assert verdicts[-1].stats["failed_final_reads"] == 0


def test_actions_speak_the_scenarios_words_and_read_failures_from_answers():
    """An adapter's API: handler placeOrder on a plain service, a failure answered as 200."""
    create = op(1, "ok", key=None, handler="placeOrder", resp={"result": "REJECTED"})
    create[0].update(action="book", subject="b1")
    other = op(2, "ok", key=None, handler="placeOrder", resp={"result": "OK"})
    other[0].update(action="book", subject="b2")
    data = run_data(history(create, other))
    records = data.actions(failed={"book": lambda answer: answer["result"] == "REJECTED"})
    invokes = [r for r in records if r["type"] == "invoke"]
    assert [(r["handler"], r["key"], r["api_handler"]) for r in invokes] == [
        ("book", "b1", "placeOrder"),
        ("book", "b2", "placeOrder"),
    ]
    assert [r["type"] for r in records if r["type"] != "invoke"] == ["fail", "ok"]
    assert data.answers("book") == {"b1": {"result": "REJECTED"}, "b2": {"result": "OK"}}
    # read by position, the same records as iterating them (made when read, not stored)
    assert list(records) == [records[i] for i in range(len(records))] == records[:]
    assert records[-1]["type"] == "ok" and records[1]["type"] == "fail"
    assert records[0] is not records[0] and data.records[0]["handler"] == "placeOrder"


def test_actions_show_the_model_fields_as_the_request():
    """A tagged request's body is its model fields, whatever the API's body looks like, so
    a checker reading `req["subscription"]` reads any adapter's API."""
    from harness import Request

    req = Request("Lists", "append", key="acct-1", body={"item": {"sku": "s1"}}).as_action(
        "add", "u1", subscription="s1"
    )
    add = op(1, "ok", key="acct-1", handler="append")
    add[0].update(req=req.body, **req.meta)
    (invoke, _) = run_data(history(add)).actions()
    assert (invoke["handler"], invoke["key"], invoke["req"]) == (
        "add",
        "u1",
        {"subscription": "s1"},
    )
    assert invoke["api_req"] == {"item": {"sku": "s1"}} and invoke["api_key"] == "acct-1"


def test_recovery_is_measured_from_process_back_to_the_first_in_flight_answer():
    from harness.workload.history import percentile, recovery, recovery_summary

    recs = [
        {"type": "invoke", "t": 0.0, "op": 1, "idem": "a"},  # in flight through the kill
        {"type": "invoke", "t": 0.1, "op": 2, "idem": "b"},
        {"type": "fault-start", "t": 1.0, "fault": 0, "kind": "kill", "target": "server"},
        {"type": "info", "t": 1.0, "op": 1, "error": "disconnected"},
        {"type": "fault-end", "t": 2.0, "fault": 0, "kind": "kill", "target": "server"},
        {"type": "invoke", "t": 2.1, "op": 3, "idem": "c"},  # new: does not count
        {"type": "ok", "t": 2.2, "op": 3, "resp": 1},
        {"type": "invoke", "t": 2.3, "op": 4, "idem": "a", "attempt": 2},  # a's retry
        {"type": "ok", "t": 2.4, "op": 4, "resp": 1},
        {"type": "ok", "t": 2.9, "op": 2, "resp": 1},
        {"type": "fault-start", "t": 3.0, "fault": 1, "kind": "kill", "target": "svc"},
        {"type": "fault-end", "t": 3.5, "fault": 1, "kind": "kill", "target": "svc"},
        {"type": "invoke", "t": 3.6, "op": 5, "idem": "d"},  # in flight through kill 2 ...
        {"type": "fault-start", "t": 4.0, "fault": 2, "kind": "kill", "target": "server"},
        {"type": "fault-end", "t": 4.5, "fault": 2, "kind": "kill", "target": "server"},
        {"type": "fault-start", "t": 4.6, "fault": 3, "kind": "kill", "target": "svc"},
        {"type": "fault-end", "t": 5.0, "fault": 3, "kind": "kill", "target": "svc"},
        {"type": "ok", "t": 5.2, "op": 5, "resp": 1},  # ... answered after kill 3 as well
    ]
    assert recovery(recs) == [
        {"fault": 0, "kind": "kill", "target": "server", "after": 0.4},
        {"fault": 1, "kind": "kill", "target": "svc", "after": None},  # nothing in flight
        {"fault": 2, "kind": "kill", "target": "server", "after": 0.7, "cut_short": 3},
        {"fault": 3, "kind": "kill", "target": "svc", "after": 0.2},
    ]
    assert recovery_summary(recs) == {  # kill 2's 0.7 s include kill 3: not its recovery
        "kill server": {"n": 1, "p50": 0.4, "p99": 0.4, "cut_short": 1},
        "kill service": {"n": 1, "p50": 0.2, "p99": 0.2, "cut_short": 0},
    }
    assert percentile([3, 1, 2, 4], 50) == 2 and percentile(list(range(1, 101)), 99) == 99


def test_a_lost_awakeable_completion_is_marked_as_the_known_server_bug():
    """restatedev/restate#4566's evidence in Restate's rows: the resolving invocation
    completed CompleteAwakeable before the waiter's timeout fired, and the waiter never got
    a signal. Only then is the violation marked known; it stays violated."""
    from harness.checkers.known import SIGNAL_LOST, mark_known, signal_lost
    from harness.checkers.verdict import Verdict

    def rows(signal: bool, resolved_at: str):
        invocations = [
            {"id": "w", "idempotency_key": "p1", "status": "completed"},
            {"id": "r", "idempotency_key": "p1:webhook:1", "status": "completed"},
        ]
        journal = [
            {"id": "w", "entry_type": "Command: Sleep", "appended_at": "2026-01-01T00:00:01.000Z"},
            {"id": "r", "entry_type": "Command: CompleteAwakeable", "appended_at": resolved_at},
            {
                "id": "w",
                "entry_type": "Notification: Sleep",
                "appended_at": "2026-01-01T00:00:03.000Z",
            },
        ]
        if signal:
            journal.append(
                {"id": "w", "entry_type": "Notification: Signal", "appended_at": resolved_at}
            )
        return run_data([], invocations, journal)

    early = "2026-01-01T00:00:02.000Z"
    assert signal_lost(rows(False, early), "p1", "p1:webhook:")
    assert not signal_lost(rows(True, early), "p1", "p1:webhook:")  # delivered: no bug
    late = "2026-01-01T00:00:04.000Z"  # resolved after the timeout: dropping it is right
    assert not signal_lost(rows(False, late), "p1", "p1:webhook:")

    bad = Verdict("x", False, "1 broken", counterexamples=[{"key": "p1"}], id="signals")
    marked = mark_known(bad, SIGNAL_LOST, lambda cx: signal_lost(rows(False, early), "p1", "p1:"))
    assert marked.valid is False and marked.known == SIGNAL_LOST
    assert marked.counterexamples[0]["known"] == SIGNAL_LOST
    two = Verdict("x", False, "2", counterexamples=[{"key": "p1"}, {"key": "p2"}], id="signals")
    assert mark_known(two, SIGNAL_LOST, lambda cx: cx["key"] == "p1").known == ""  # not all


def test_preconditions_flag_an_effect_before_the_work_it_reports_was_done():
    """A result email with the right link, sent before the upload (1 s of ETA) was done."""
    import json

    from harness.checkers.preconditions import check_preconditions, happened_before

    def upload(key, wall, eta_ms):
        return {"op": "upload", "key": key, "wall": wall, "outcome": "applied",
                "request": json.dumps({"key": key, "latency_ms": eta_ms})}  # fmt: skip

    calls = [upload("u1", 10.0, 1000), upload("u2", 10.0, 1000)]
    effects = [
        {"op": "upload", "key": "u1", "wall": 10.0},
        {"op": "upload", "key": "u2", "wall": 10.0},
        {"op": "email", "key": "u1:url", "wall": 11.2},  # after the upload was done: fine
        {"op": "email", "key": "u2:url", "wall": 10.5},  # 500 ms early
        {"op": "email", "key": "u3:url", "wall": 12.0},  # no upload at all
    ]
    v = check_preconditions(ledger(effects, calls), "email", "upload", lambda k: k.split(":")[0])
    assert v.valid is False and v.id == "preconditions:email"
    problems = {c["key"]: c["problem"] for c in v.counterexamples}
    assert problems == {
        "u2:url": "email 500 ms before the upload of u2 was done",
        "u3:url": "email with no upload of u3 at all",
    }
    fine = ledger(effects[:3], calls)
    held = check_preconditions(fine, "email", "upload", lambda k: k.split(":")[0])
    assert held.valid is True
    none = check_preconditions(ledger(effects[:2], calls), "email", "upload", str)
    assert none.valid == "unknown"  # nothing was exercised
    assert happened_before(1.0, 0.996) and not happened_before(1.0, 0.99)


def test_upgrades_finding_holds_flags_stuck_and_late_and_is_unknown_when_idle():
    from harness.checkers.upgrades import check_upgrades

    up = {"service": "s", "from": "dp_1", "to": "dp_2", "switch_wall": 1_800_000_001.0}

    def row(i, dep, created, completed, status="completed"):
        iso = "2027-01-15T08:00:{:06.3f}Z"  # 1_800_000_000 is 2027-01-15T08:00:00Z
        done = None if completed is None else iso.format(completed)
        return {
            "id": f"inv_{i}", "target": "S/h", "pinned_deployment_id": dep, "status": status,
            "created_at": iso.format(created), "completed_at": done,
        }  # fmt: skip

    good = [row(1, "dp_1", 0.0, 3.0), row(2, "dp_2", 5.0, 6.0)]
    v = check_upgrades(good, [up])
    assert v.valid is True and v.stats["upgrades"][0]["in_flight_at_switch"] == 1
    stuck = [row(1, "dp_1", 0.0, None, status="backing-off"), row(2, "dp_1", 5.0, 6.0)]
    v = check_upgrades(stuck, [up])
    assert v.valid is False
    assert [c["problem"].split()[0] for c in v.counterexamples] == ["pinned", "accepted"]
    idle = [row(1, "dp_1", 0.0, 0.5), row(2, "dp_2", 5.0, 6.0)]  # done before the switch
    assert check_upgrades(idle, [up]).valid == "unknown"


def test_node_recovery_counts_the_retried_requests_in_flight_at_a_node_kill():
    """The bound is measured: the failover (or the node back) + an attempt's timeout + a
    retry + the baseline; a node down past Restate's own allowance without a failover is
    an outage, whatever the requests did."""
    from harness.checkers.nodes import check_node_recovery

    def op(n, t, idem, end=None, kind="ok"):
        out = [{"type": "invoke", "op": n, "t": t, "wall": 1000 + t, "idem": idem}]
        return out + ([{"type": kind, "op": n, "t": end, "wall": 1000 + end}] if end else [])

    def node_kill(failover, down):
        start = {"type": "fault-start", "fault": 0, "kind": "kill", "target": "n2", "t": 1.0}
        end = {"type": "fault-end", "fault": 0, "kind": "kill", "target": "n2"}
        end.update(t=1.0 + down, failover_s=failover, unavailable_s=down)
        return [{**start, "wall": 1001.0, "role": "node"}, {**end, "wall": 1001.0 + down}]

    manifest = {"client": {"attempt_timeout_s": 5.0}}
    base = op(1, 0.1, "a", 0.3) + op(2, 0.6, None)  # a read (no key) lost by the kill: not counted
    failed_over = node_kill(2.0, 12.0)  # bound 2 + 5 + 0.25 + 0.2 = 7.45 s after the kill
    held = check_node_recovery([*base, *failed_over, *op(3, 0.9, "b", 7.0, "fail")], manifest)
    assert held.valid is True and held.stats["max_s"] == 6.0 and held.stats["failed_over"] == 1
    late = check_node_recovery([*base, *failed_over, *op(4, 0.8, "c", 9.0)], manifest)
    assert late.valid is False and late.counterexamples[0]["after"] == 8.0
    assert "failover after 2.00s + 5s attempt timeout" in late.counterexamples[0]["problem"]
    stall = {"type": "lag", "t": 5.0, "wall": 1005.0, "max_ms": 600}  # >= the 0.55 s over
    v = check_node_recovery([*base, *failed_over, *op(4, 0.8, "c", 9.0), stall], manifest)
    assert v.valid == "unknown" and "the harness itself was stalled 0.60s" in v.summary
    lost = check_node_recovery([*base, *failed_over, *op(5, 0.7, "d")], manifest)
    assert lost.valid is False and lost.counterexamples[0]["unanswered"] == 1
    # no failover, the node back after 12 s: the requests waited for it, within the bound
    waited = check_node_recovery([*base, *node_kill(None, 12.0), *op(6, 0.8, "e", 14.0)], manifest)
    assert waited.valid is True, waited.summary
    # no failover in Restate's own 30 s allowance: an outage
    outage = check_node_recovery([*base, *node_kill(None, 35.0), *op(7, 0.8, "f", 37.0)], manifest)
    assert outage.valid is False
    assert "never served its partitions" in outage.counterexamples[0]["problem"]
    assert check_node_recovery(base, manifest).valid == "unknown"


def test_a_journal_mismatch_names_the_command_where_replay_left_the_journal():
    """Issue 36: the cause of a mismatch is the first differing command, as Restate and
    the SDK name it."""
    from harness.checkers.determinism import check_determinism

    row = {
        "id": "inv_1", "target": "Upload/u1/run", "status": "backing-off", "retry_count": 7,
        "last_failure_error_code": 570, "last_failure_related_command_index": 1,
        "last_failure_related_command_type": "Run", "last_failure_related_command_name": "quota",
        "last_failure": "[570 Journal mismatch] ...\n- Difference:\n   name: upload != quota",
    }  # fmt: skip
    v = check_determinism([row])
    assert v.valid is False
    assert v.cause.startswith(
        "replay of Upload/u1/run differed from its journal at command 1 (Run 'quota'; "
        "the SDK: name: upload != quota)"
    )
    assert v.counterexamples[0]["cause"] == v.cause


def test_exactly_once_without_a_single_world_call_is_unknown_not_violated():
    """Issue 36: a user's service that keeps its effect in Restate state (no world call at
    all) cannot be judged on the world's ledger: unknown, saying so. One call for some keys
    and none for an acknowledged other is still violated."""
    from harness.checkers.effects import check_exactly_once

    h = history(create(1, "ok", "p1"), create(2, "ok", "p2"))
    v = check_exactly_once(h, ledger([]), "charge", "create", completed)
    assert v.valid == "unknown" and "no charge call reached the world" in v.summary
    some = ledger([effect("charge", "p1", "k1")], [call("charge", "p1", idem="k1")])
    v = check_exactly_once(h, some, "charge", "create", completed)
    assert v.valid is False and v.counterexamples[0]["key"] == "p2"


def test_tokens_unknown_when_no_payment_reached_the_world_and_violated_when_one_is_missing():
    """restatedev/examples' payment state machine keeps its accounts in a Restate object:
    not one withdraw reaches the world, which is unknown, not "never charged"; a service
    that charges some tokens through the world and not another is still violated."""
    from harness.checkers.tokens import check_tokens

    done = {"status": "COMPLETED"}
    h = history(
        op(1, "ok", "t1", handler="make", resp=done), op(2, "ok", "t2", handler="make", resp=done)
    )
    v = check_tokens(h, ledger([]), "make", "cancel")
    assert v.valid == "unknown" and "does not move the money through the world" in v.summary
    one = {"op": "withdraw", "key": "t1", "idem": "p1", "amount": 5}
    v = check_tokens(h, ledger([one], [call("withdraw", "t1")]), "make", "cancel")
    assert v.valid is False and v.counterexamples[0]["key"] == "t2"


def test_tokens_a_make_answered_only_with_failures_must_net_to_zero():
    """Issue 30: a payment answered as failed (a timeout taken for a decline) whose token
    was charged and never refunded."""
    from harness.checkers.tokens import check_tokens

    fail = {"type": "fail", "op": 1, "t": 1.5, "error": "HTTP 500: payment failed"}
    h = [op(1, "fail", "t1", handler="make")[0], fail]
    h += op(2, "ok", "t2", handler="make", resp={"status": "COMPLETED"})
    paid = [{"op": "withdraw", "key": t, "idem": f"p{t}", "amount": 5} for t in ("t1", "t2")]
    v = check_tokens(h, ledger(paid, [call("withdraw", "t1")]), "make", "cancel")
    assert v.valid is False and [c["key"] for c in v.counterexamples] == ["t1"]
    assert (
        "every make answered as failed (HTTP 500: payment failed) but the token nets -5"
        in (v.counterexamples[0]["problem"])
    )
    refund = {"op": "deposit", "key": "t1", "idem": "r1", "amount": 5}
    v = check_tokens(h, ledger([*paid, refund], [call("withdraw", "t1")]), "make", "cancel")
    assert v.valid is True and v.stats["makes_answered_failed"] == 1


def test_signals_a_timeout_due_after_the_run_is_not_judged_one_within_it_still_is():
    """restatedev/examples' payment waits for its webhook without a timeout (timeout_s
    huge): a payment whose webhook never came is due after the run, not "never cancelled";
    with a timeout due within the run it is still violated."""
    from harness.checkers.signals import check_signals

    h = history(pay(1, "a", "confirmed"), pay(2, "b", None))
    effects = [at("charge", "a", 0.1), at("webhook", "a", 0.5), at("charge", "b", 0.1)]
    until = {"observed_until": 1000 + 30}
    day = check_signals(
        h, ledger(effects), "process", lambda o: o.invoke["req"]["id"], 86_400.0, manifest=until
    )
    assert day.valid is True and day.stats["due_after_run"] == 1, day.counterexamples
    assert "1 of 2 timeouts are due after the run (the first in 23 h 59 min)" in day.summary
    short = check_signals(
        h, ledger(effects), "process", lambda o: o.invoke["req"]["id"], 2.0, manifest=until
    )
    assert short.valid is False and "never cancelled" in short.counterexamples[0]["problem"]
    only = check_signals(
        history(pay(2, "b", None)),
        ledger(effects[2:]),
        "process",
        lambda o: o.invoke["req"]["id"],
        86_400.0,
        manifest=until,
    )
    assert only.valid == "unknown" and "no payment ended within the run" in only.summary


def test_signals_a_webhook_the_service_refuses_is_a_violation_with_its_cause():
    """restatedev/examples' webhook handler declares no input, so Restate's ingress answers
    every JSON delivery 400: the payment is violated with the answer, not left to wait;
    deliveries refused during a kill and accepted on a retry are not."""
    import json as _json

    from harness.checkers.signals import check_signals

    def hook(key, outcome, error=""):
        req = {"key": key, "idem": f"{key}:webhook:1", "error": error}
        return {"op": "webhook", "key": key, "outcome": outcome, "request": _json.dumps(req)}

    h = history(pay(1, "a", None), pay(2, "b", "confirmed"))
    effects = [at("charge", "a", 0.1), at("charge", "b", 0.1), at("webhook", "b", 0.9)]
    calls = [hook("a", "failed", "HTTP 400: input validation error")] * 3
    calls += [hook("b", "failed", "ClientConnectorError: refused"), hook("b", "applied")]
    v = check_signals(
        h, ledger(effects, calls), "process", lambda o: o.invoke["req"]["id"], 86_400.0
    )
    assert v.valid is False and [c["key"] for c in v.counterexamples] == ["a"]
    assert "refused 3 times (HTTP 400: input validation error)" in v.counterexamples[0]["problem"]
    assert v.cause.startswith("the service refused the provider's webhooks: 1 payments")
