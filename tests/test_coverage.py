"""Fault coverage per journal step (harness/checkers/coverage.py): from what the fault
records say of the invocations in flight and from the run's journals."""

from harness.checkers.coverage import coverage


def test_coverage_counts_landed_faults_per_boundary_and_names_the_unhit():
    invocations = [
        {"id": "a", "target": "Svc/k1/pay", "target_service_name": "Svc", "journal_size": 4},
        {"id": "b", "target": "Svc/k2/pay", "target_service_name": "Svc", "journal_size": 3},
        {"id": "c", "target": "Other/run", "target_service_name": "Other", "journal_size": 1},
    ]
    journal = [
        {"id": "a", "index": 0, "entry_type": "Command: Input", "name": ""},
        {"id": "a", "index": 1, "entry_type": "Command: Run", "name": "charge"},
        {"id": "b", "index": 1, "entry_type": "Command: Run", "name": "charge"},
        {"id": "a", "index": 2, "entry_type": "Notification: Run", "name": None},
    ]
    records = [
        {"type": "fault-start", "kind": "kill", "landed": True,
         "positions": [["Svc/pay", 2, "a"], ["Svc/pay", 2, "b"]]},
        {"type": "fault-start", "kind": "reset", "landed": True,
         "positions": [["Svc/pay", 0, "a"]]},
        {"type": "fault-start", "kind": "kill", "landed": False,
         "positions": [["Svc/pay", 3, "a"]]},
        {"type": "invoke", "op": 1},
    ]  # fmt: skip
    cov = coverage(records, invocations, journal)
    pay = cov["Svc/pay"]
    assert pay["boundaries"] == 5  # after 0 .. 4 entries
    assert pay["hit"] == {"0": {"reset": 1}, "2": {"kill": 2}}  # a missed fault is no hit
    assert pay["unhit"] == [1, 3, 4]
    assert pay["after"]["2"] == "Command: Run charge" and pay["after"]["1"] == "Command: Input"
    assert cov["Other/run"] == {"boundaries": 2, "hit": {}, "unhit": [0, 1], "after": {}}


def test_the_dashboard_adds_coverage_up_over_a_scenarios_runs():
    from harness.report.dashboard import coverage_over

    runs = [
        {"coverage": {"Svc/pay": {"boundaries": 5, "hit": {"0": {"kill": 1}, "2": {"kill": 3}}}}},
        {"coverage": {"Svc/pay": {"boundaries": 6, "hit": {"2": {"reset": 1}, "4": {"kill": 1}}}}},
        {"coverage": {}},  # a run from before coverage was recorded
    ]
    (pay,) = coverage_over(runs)
    assert pay == {"handler": "Svc/pay", "boundaries": 6, "hit": 3, "never": [1, 3, 5], "runs": 2}
