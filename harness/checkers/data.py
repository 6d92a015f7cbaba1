"""What checkers read: a run directory's recorded data, loaded once.

Checks are pure functions of this (history, ledger, Restate's invocation rows), so a stored
run can be re-analysed at any time (`python -m harness report RUN_DIR`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

from harness.workload.history import read, share_equal, share_strings


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
            # a soak's 100k rows repeat their few statuses and targets
            invocations=share_equal(
                share_strings(load_json("invocations.json", {"rows": []})["rows"])
            ),
            journal=load_json("journal.json", {"rows": []})["rows"],
        )

    @property
    def last_effect_at(self) -> float:
        """Wall time of the world's last effect (0 without any): work goes on after the
        client's one-way sends returned, until then."""
        return max((e["wall"] for e in self.ledger["effects"]), default=0.0)

    def actions(self, failed: dict[str, Callable[[Any], bool]] | None = None) -> Actions:
        """The history in the scenario's vocabulary: an operation tagged with
        `Request.as_action` has `handler` = its action and `key` = its subject (the API's
        own names are kept as `api_handler`, `api_key`) and `req` = its model fields (the
        API's body kept as `api_req`), so checkers written against the scenario's model read
        any API an adapter maps onto it. `failed`: per action, a
        reader of acknowledged answers that say the operation failed (an API that answers
        200 with a failure status): such an answer counts as the failure the client saw."""
        return Actions(self.records, failed or {})

    def answers(self, action: str, final: bool = False) -> dict[str, Any]:
        """The last acknowledged answer of `action` per subject. `final`: only the reads of
        the check phase (after the heal), never an earlier read of the workload, so a
        subject whose final read got no answer is missing rather than stale."""
        return last_answers(
            self.actions(),
            lambda inv: inv.get("handler") == action and (not final or inv.get("check_read")),
        )

    def contract(self, name: str, default: type[Any]) -> Any:
        """The contract the run used for service `name`: its adapter (run.json) or
        `default`, so re-analysis reads answers the way the run did."""
        from harness.contracts import make

        spec = self.manifest.get("adapters", {}).get(name)
        assumed = self.manifest.get("assumptions", {}).get(name, {})
        given = {n: a["value"] for n, a in assumed.items()}  # as the run had them
        return make(spec, default, self.manifest.get("app_paths", []), given)

    def assumed(self, service: str, *names: str) -> dict[str, Any]:
        """The assumptions of `service`'s contract that a verdict rests on, as the run
        recorded them (value, where it came from, what it means): for `Verdict.assumes`."""
        recorded = self.manifest.get("assumptions", {}).get(service, {})
        return {n: recorded[n] for n in names if n in recorded}

    def final_reads(self, service: str, handler: str) -> dict[str, Any]:
        """The last acknowledged answer of `service/handler` per object key (the check
        phase reads final state through the ingress; those reads are in the history)."""
        return last_answers(
            self.records,
            lambda inv: inv.get("service") == service and inv.get("handler") == handler,
        )


class Actions(Sequence[dict[str, Any]]):
    """`RunData.actions()`: a read-only sequence of the records in the scenario's words,
    each made when it is read instead of copied once for all: a 100k-operation soak's
    tagged invokes are 50 MB of copies, held through every check otherwise. A checker that
    keeps what it reads keeps only that."""

    def __init__(
        self, records: list[dict[str, Any]], failed: dict[str, Callable[[Any], bool]]
    ) -> None:
        self.records = records
        self.failed = failed
        self._action_of: dict[int, str] | None = None  # op -> action, for random access

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        action_of: dict[int, str] = {}  # of the invokes read so far: an answer follows one
        for r in self.records:
            if self._tagged(r):
                action_of[r["op"]] = r["action"]
            yield self._word(r, action_of)

    def _tagged(self, r: dict[str, Any]) -> bool:
        """An invoke whose answers `failed` may read (their action is needed)."""
        return bool(self.failed) and r.get("type") == "invoke" and "action" in r

    @overload
    def __getitem__(self, i: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, i: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, i: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if self._action_of is None:
            self._action_of = {r["op"]: r["action"] for r in self.records if self._tagged(r)}
        return self._word(self.records[i], self._action_of)

    def _word(self, r: dict[str, Any], action_of: dict[int, str]) -> dict[str, Any]:
        if r.get("type") == "invoke" and "action" in r:
            return {
                **r,
                "handler": r["action"],
                "key": r["subject"],
                "req": r.get("model", r.get("req")),  # runs recorded before "model": body
                "api_handler": r.get("handler"),
                "api_key": r.get("key"),
                "api_req": r.get("req"),
            }
        failed = self.failed.get(action_of.get(r.get("op", -1), ""))
        if r.get("type") == "ok" and failed and failed(r.get("resp")):
            return {**r, "type": "fail", "error": f"answered as failed: {r.get('resp')}"}
        return r


def last_answers(
    records: Iterable[dict[str, Any]], match: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """Per key, the last acknowledged answer of the operations whose invoke `match`es (in
    the order they were sent); one pass, so `records` may be a stream."""
    keys: dict[int, Any] = {}  # op -> key, of the matching invokes
    answers: dict[int, Any] = {}
    for r in records:
        if r["type"] == "invoke" and match(r):
            keys[r["op"]] = r.get("key")
        elif r["type"] == "ok" and r["op"] in keys:
            answers[r["op"]] = r.get("resp")
    return {key: answers[op] for op, key in keys.items() if op in answers}
