"""The chaos scenarios: each passes 5 seeds in a row against the bundled services, and each
negative control (a broken service variant) is flagged on every seed."""

import json

import pytest

from harness.runtime.kafka import missing

SAGA = "compensations ran in reverse, once each, nothing left half-done"
TOKENS = "each token paid once or cancelled to net zero"

SCENARIOS = {
    "smoke": "scenarios/scenario_smoke.py",
    "payments": "scenarios/scenario_payments.py",
    "reservations": "scenarios/scenario_reservations.py",
    "sagas": "scenarios/scenario_sagas.py",
    "subscription_retries": "scenarios/scenario_subscription_retries.py",
    "object_state": "scenarios/scenario_object_state.py",
    "tickets": "scenarios/scenario_tickets.py",
    "machines": "scenarios/scenario_machines.py",
    "payment_tokens": "scenarios/scenario_payment_tokens.py",
    "stripe_api": "scenarios/scenario_stripe_api.py",
    "task_queue": "scenarios/scenario_task_queue.py",
    "fanout": "scenarios/scenario_fanout.py",
    "scheduling": "scenarios/scenario_scheduling.py",
    "payment_signals": "scenarios/scenario_payment_signals.py",
    "sync_async": "scenarios/scenario_sync_async.py",
    "event_processing": "scenarios/scenario_event_processing.py",
}

# (scenario, service name, broken app, the guarantee(s) that must be flagged)
NEGATIVE_CONTROLS = [
    ("smoke", "counter", "services.broken.counter_in_memory:app", "no lost or doubled increment"),
    ("payments", "payments", "services.broken.payments_random_key:app", "no double charge"),
    ("payments", "payments", "services.broken.payments_outside_run:app", "no double charge"),
    (
        "reservations",
        "products",
        "services.broken.products_in_memory:app",
        ("each product reserved at most once", "one acknowledged winner per product"),
    ),
    ("sagas", "trips", "services.broken.trips_forward_compensation:app", SAGA),
    ("sagas", "trips", "services.broken.trips_register_after:app", SAGA),
    (
        "subscription_retries",
        "subscriptions",
        "services.broken.subscription_saga_no_undo:app",
        SAGA,
    ),
    (
        "object_state",
        "subscriptions",
        "services.broken.subscriptions_in_memory:app",
        "no lost update",
    ),
    (
        "object_state",
        "subscriptions",
        "services.broken.subscriptions_exclusive_reads:app",
        "shared reads neither block nor corrupt",
    ),
    ("tickets", "tickets", "services.broken.tickets_early_reminder:app", "one reminder, on time"),
    (
        "tickets",
        "tickets",
        "services.broken.tickets_email_outside_journal:app",
        "ticket emailed once",
    ),
    (
        "machines",
        "machines",
        "services.broken.machines_shared_state:app",
        "one transition per key at a time, along valid paths, none lost",
    ),
    ("payment_tokens", "payments", "services.broken.payment_processor_in_memory:app", TOKENS),
    ("stripe_api", "stripe", "services.broken.stripe_api_unkeyed:app", TOKENS),
    (
        "task_queue",
        "worker",
        "services.broken.task_queue_outside_run:app",
        "each accepted task ran once",
    ),
    (
        "fanout",
        "worker",
        "services.broken.fanout_outside_run:app",
        "every subtask once, the aggregate is their sum",
    ),
    (
        "scheduling",
        "tracker",
        "services.broken.payment_tracker_in_memory:app",
        "reminders on schedule, none after success, one escalation",
    ),
    (
        "payment_signals",
        "payments",
        "services.broken.payment_signals_cancel_outside_run:app",
        "each payment ends one way: confirmed, or cancelled once after the timeout",
    ),
    (
        "sync_async",
        "upload",
        "services.broken.data_upload_email_outside_run:app",
        "the result reached the user by exactly one path",
    ),
    (
        "event_processing",
        "feed",
        "services.broken.user_feed_shared:app",
        "per key in the order sent, one at a time, once each",
    ),
    (
        "event_processing",
        "feed",
        "services.broken.user_feed_global_lock:app",
        "a slow key does not hold up the others",
    ),
    (
        "event_processing",
        "tracker",
        "services.broken.package_tracker_in_memory:app",
        "the enriched state is complete",
    ),
]


def run_results(report_dir):
    return [json.loads(p.read_text()) for p in sorted(report_dir.glob("*/results.json"))]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_passes_seeds_in_a_row(subpytest, scenario, depth):
    """5 seeds with --long, 2 by default."""
    run = subpytest(
        [SCENARIOS[scenario], "--chaos-seed", "100", "--chaos-sweep", str(depth["sweep"])]
    )
    code, out = run.wait(timeout=900)
    assert code == 0, out
    assert f"{depth['sweep']} passed" in out
    results = run_results(run.report_dir)
    assert sorted(r["seed"] for r in results) == list(range(100, 100 + depth["sweep"]))
    for r in results:
        assert r["status"] == "passed" and r["valid"] is True
        vacuity = next(v for v in r["verdicts"] if v["name"] == "the run exercised the system")
        assert vacuity["stats"]["faults_in_flight"] >= 2


@pytest.mark.kafka
@pytest.mark.skipif(bool(missing()), reason=missing() or "")
def test_kafka_path_passes_seeds_in_a_row(subpytest, depth):
    """Event processing fed by Restate's Kafka subscriptions (1 seed by default, 5 with
    --long): the same checks as the HTTP path, whose negative controls cover them."""
    run = subpytest(
        [
            "scenarios/scenario_event_processing_kafka.py",
            "--chaos-seed",
            "100",
            "--chaos-sweep",
            str(depth["kafka"]),
        ]
    )
    code, out = run.wait(timeout=900)
    assert code == 0, out
    results = run_results(run.report_dir)
    assert [r["status"] for r in results] == ["passed"] * depth["kafka"]
    for r in results:
        assert all(v["valid"] is True for v in r["verdicts"])
        assert len(r["verdicts"]) == 5


@pytest.mark.parametrize(
    "scenario, service, app, guarantee",
    NEGATIVE_CONTROLS,
    ids=[c[2].split(".")[-1].split(":")[0] for c in NEGATIVE_CONTROLS],
)
def test_negative_control_is_flagged_every_time(
    subpytest, scenario, service, app, guarantee, depth
):
    run = subpytest(
        [
            SCENARIOS[scenario],
            "--chaos-seed",
            "200",
            "--chaos-sweep",
            str(depth["controls"]),
            "--chaos-app",
            f"{service}={app}",
        ]
    )
    code, out = run.wait(timeout=900)
    assert code == 1, out
    assert f"{depth['controls']} failed" in out
    results = run_results(run.report_dir)
    assert len(results) == depth["controls"]
    for r in results:
        assert r["status"] == "failed" and r["valid"] is False, r.get("error")
        for name in (guarantee,) if isinstance(guarantee, str) else guarantee:
            verdict = next(v for v in r["verdicts"] if v["name"] == name)
            assert verdict["valid"] is False and verdict["counterexamples"], name
            assert all(c.get("problem") for c in verdict["counterexamples"])


@pytest.mark.parametrize("scenario", ["smoke", "payments"])
def test_same_seed_same_plan_digest(subpytest, scenario):
    digests = []
    for _ in range(2):
        run = subpytest([SCENARIOS[scenario], "--chaos-seed", "300"])
        code, out = run.wait(timeout=300)
        assert code == 0, out
        (manifest,) = run.report_dir.glob("*/run.json")
        digests.append(json.loads(manifest.read_text())["plan_digest"])
    assert digests[0] == digests[1]
