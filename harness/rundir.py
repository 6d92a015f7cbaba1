"""A run's folder: where each of its files lives, and its run.json kept up to date.

Every part of a run (its topology, its upgrades, its phases) writes what it learns into the
one manifest and saves it here, so the folder describes the run at every moment, also when
the run dies half-way. The report and re-analysis read the folder, never the live run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness import manifest as manifest_io

RUN_JSON = "run.json"
RESULTS_JSON = "results.json"


class RunDir:
    def __init__(self, path: Path, manifest: dict[str, Any]):
        """The folder, made now; run.json is first written by the run's `write()`."""
        self.path = path
        self.manifest = manifest
        path.mkdir(parents=True)

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    @property
    def history(self) -> Path:
        return self.path / "history.jsonl"

    @property
    def faults(self) -> Path:
        return self.path / "faults.jsonl"

    def write(self) -> None:
        """Save run.json as the manifest says now."""
        manifest_io.write_json(self.path / RUN_JSON, self.manifest)

    def record(self, **fields: Any) -> None:
        """Set manifest fields and save."""
        self.manifest.update(fields)
        self.write()

    def entry(self, key: str, default: Any) -> Any:
        """The manifest's `key`, set to `default` first if missing (a list or a dict that
        parts of the run add to)."""
        return self.manifest.setdefault(key, default)

    def write_json(self, name: str, data: Any) -> None:
        manifest_io.write_json(self.path / name, data)
