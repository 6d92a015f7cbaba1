"""What checkers read: a run directory's recorded data, loaded once.

Checks are pure functions of this (history, ledger, Restate's invocation rows), so a stored
run can be re-analysed at any time (`python -m harness report RUN_DIR`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.workload.history import operations, read


@dataclass
class RunData:
    dir: Path
    manifest: dict[str, Any]
    records: list[dict[str, Any]]
    ledger: dict[str, list[dict[str, Any]]]
    invocations: list[dict[str, Any]]
    journal: list[dict[str, Any]]  # Restate's journal entries of those invocations

    @staticmethod
    def load_json(path: Path, default: Any = None) -> Any:
        """A JSON side file; `default` when it is missing or torn (the run died writing)."""
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return default

    @classmethod
    def load(cls, run_dir: Path) -> RunData:
        def load_json(name: str, default: Any) -> Any:
            return cls.load_json(run_dir / name, default)

        history = run_dir / "history.jsonl"
        return cls(
            dir=run_dir,
            manifest=load_json("run.json", {}),
            records=read(history) if history.exists() else [],
            ledger=load_json("ledger.json", {"calls": [], "effects": [], "balances": []}),
            invocations=load_json("invocations.json", {"rows": []})["rows"],
            journal=load_json("journal.json", {"rows": []})["rows"],
        )

    @property
    def last_effect_at(self) -> float:
        """Wall time of the world's last effect (0 without any): work goes on after the
        client's one-way sends returned, until then."""
        return max((e["wall"] for e in self.ledger["effects"]), default=0.0)

    def final_reads(self, service: str, handler: str) -> dict[str, Any]:
        """The last acknowledged answer of `service/handler` per object key (the check
        phase reads final state through the ingress; those reads are in the history)."""
        out = {}
        for o in operations(self.records):
            inv = o.invoke
            if (
                inv.get("service") == service
                and inv.get("handler") == handler
                and o.result
                and o.outcome == "ok"
            ):
                out[inv.get("key")] = o.result.get("resp")
        return out
