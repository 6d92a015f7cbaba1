"""A subset of a scenario's workload (`--subset FILE`): keep only these keys, or only these
items, of the list the seed generates. What a shrink searches over.

Keys are business keys: a tagged request's subject (`Request.as_action`), else its object
key; a client flow's `subject` attribute, if it has one. Filtering by key keeps every
operation on a kept key, in order, so a key's story stays whole (a refund keeps its create).
Items are positions in the generated workload, for a finer cut within the kept keys.
The run records the cut in the history (a `workload` record: items generated and kept), so
checks and the vacuity thresholds go by what was actually sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.workload.client import Request


def key_of(item: Any) -> str | None:
    """The business key of a workload item (a Request or a flow); None when it has none."""
    if isinstance(item, Request):
        subject = item.meta.get("subject")
        return str(subject) if subject is not None else item.key
    subject = getattr(item, "subject", None)
    return None if subject is None else str(subject)


@dataclass(frozen=True)
class Subset:
    keys: frozenset[str] | None = None  # None: every key
    items: frozenset[int] | None = None  # None: every item

    @classmethod
    def load(cls, path: Path) -> Subset:
        """A subset file: JSON {"keys": [...], "items": [...]} (either may be left out), or
        a run's run.json (the subset it ran with)."""
        from harness.errors import BadInput

        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise BadInput(f"--subset {path}: cannot read a JSON workload subset ({e})") from None
        if isinstance(data, dict) and "subset" in data:  # a run.json
            data = data["subset"] or {}
        keys, items = (data.get(k) if isinstance(data, dict) else None for k in ("keys", "items"))
        if (
            not isinstance(data, dict)
            or not (keys is None or isinstance(keys, list))
            or not (items is None or all(isinstance(i, int) for i in items))
        ):
            raise BadInput(
                f'--subset {path}: expected {{"keys": ["p17", ...], "items": [0, 5, ...]}} '
                "(keys: business keys to keep; items: positions in the workload to keep)"
            )
        return cls(
            None if keys is None else frozenset(map(str, keys)),
            None if items is None else frozenset(items),
        )

    def keeps(self, index: int, item: Any) -> bool:
        if self.items is not None and index not in self.items:
            return False
        key = key_of(item)
        return self.keys is None or key is None or key in self.keys

    def positions(self, workload: list[Any]) -> list[int]:
        """The positions of `workload` this subset keeps, in order."""
        return [i for i, item in enumerate(workload) if self.keeps(i, item)]

    def to_record(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.keys is not None:
            out["keys"] = sorted(self.keys)
        if self.items is not None:
            out["items"] = sorted(self.items)
        return out


def kept_fraction(records: list[dict[str, Any]]) -> float:
    """The share of the generated workload a run sent (1.0 without a subset), from its
    `workload` records."""
    generated = sum(r.get("items", 0) for r in records if r.get("type") == "workload")
    kept = sum(r.get("kept", 0) for r in records if r.get("type") == "workload")
    return kept / generated if generated else 1.0
