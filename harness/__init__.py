"""restate-chaos: chaos and fault-injection harness for Restate applications.

Everything a scenario or a checker needs, in one flat namespace:

    from harness import Request, Run, RunData, Verdict, check_exactly_once, seeded_kills

Names are loaded on first use, so a service process that imports a helper from the harness
does not pay for the run and report layers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    # a run and its data
    "Run": "harness.run",
    "RunData": "harness.checkers.data",
    "Request": "harness.workload.client",
    "Outcome": "harness.workload.client",
    "Control": "harness.controls",
    "BadInput": "harness.errors",
    "Contract": "harness.contracts",
    "Params": "harness.params",
    "scaled": "harness.params",
    # faults
    "Fault": "harness.nemesis.faults",
    "kill": "harness.nemesis.faults",
    "stop": "harness.nemesis.faults",
    "pause": "harness.nemesis.faults",
    "seeded_plan": "harness.nemesis.faults",
    "seeded_kills": "harness.nemesis.faults",
    "seeded_upgrade": "harness.nemesis.faults",
    "spread_keys": "harness.nemesis.faults",
    "happened_before": "harness.checkers.preconditions",
    "random_plan": "harness.nemesis.faults",
    # verdicts and checkers
    "Verdict": "harness.checkers.verdict",
    "checker": "harness.checkers.verdict",
    "Check": "harness.checkers.verdict",
    "check_balances": "harness.checkers.effects",
    "check_counters": "harness.checkers.counter",
    "check_determinism": "harness.checkers.determinism",
    "check_enriched": "harness.checkers.ordering",
    "check_exactly_once": "harness.checkers.effects",
    "check_fanout": "harness.checkers.fanout",
    "check_idempotent_response": "harness.checkers.effects",
    "check_key_order": "harness.checkers.ordering",
    "check_liveness": "harness.checkers.liveness",
    "check_not_held_up": "harness.checkers.transitions",
    "check_one_path": "harness.checkers.delivery",
    "check_preconditions": "harness.checkers.preconditions",
    "check_saga": "harness.checkers.saga",
    "check_schedule": "harness.checkers.schedule",
    "check_set_members": "harness.checkers.state",
    "check_shared_reads": "harness.checkers.state",
    "check_signals": "harness.checkers.signals",
    "SIGNAL_LOST": "harness.checkers.known",
    "mark_known": "harness.checkers.known",
    "signal_lost": "harness.checkers.known",
    "check_single_winner": "harness.checkers.effects",
    "check_timers": "harness.checkers.timers",
    "check_tokens": "harness.checkers.tokens",
    "check_transitions": "harness.checkers.transitions",
    "check_vacuity": "harness.checkers.vacuity",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from harness.checkers.counter import check_counters
    from harness.checkers.data import RunData
    from harness.checkers.delivery import check_one_path
    from harness.checkers.determinism import check_determinism
    from harness.checkers.effects import (
        check_balances,
        check_exactly_once,
        check_idempotent_response,
        check_single_winner,
    )
    from harness.checkers.fanout import check_fanout
    from harness.checkers.liveness import check_liveness
    from harness.checkers.ordering import check_enriched, check_key_order
    from harness.checkers.preconditions import check_preconditions, happened_before
    from harness.checkers.saga import check_saga
    from harness.checkers.schedule import check_schedule
    from harness.checkers.signals import check_signals
    from harness.checkers.state import check_set_members, check_shared_reads
    from harness.checkers.timers import check_timers
    from harness.checkers.tokens import check_tokens
    from harness.checkers.transitions import check_not_held_up, check_transitions
    from harness.checkers.vacuity import check_vacuity
    from harness.checkers.verdict import Check, Verdict, checker
    from harness.contracts import Contract
    from harness.controls import Control
    from harness.errors import BadInput
    from harness.nemesis.faults import (
        Fault,
        kill,
        pause,
        random_plan,
        seeded_kills,
        seeded_plan,
        seeded_upgrade,
        spread_keys,
        stop,
    )
    from harness.params import Params, scaled
    from harness.run import Run
    from harness.workload.client import Outcome, Request
