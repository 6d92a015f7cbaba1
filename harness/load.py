"""The load knob (`--load N`, pytest `--chaos-load N`, ini `chaos_load`): N busy cores for
the whole session, so anyone can reproduce a slow or shared machine. Each burner is a plain
busy loop at normal priority, started and killed through the process registry like every
other process the harness starts; the runs record the number in run.json and in their
reproduce command.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from harness.runtime.processes import REGISTRY, Proc, ProcessRegistry

BURN = "while True:\n    pass\n"


class Load:
    """`cores` busy loops, from start() until stop()."""

    def __init__(self, cores: int, registry: ProcessRegistry = REGISTRY) -> None:
        if cores < 0 or cores > (os.cpu_count() or 1) * 4:
            raise ValueError(f"load must be 0-{(os.cpu_count() or 1) * 4} busy cores, got {cores}")
        self.cores = cores
        self.registry = registry
        self.procs: list[Proc] = []

    def start(self) -> None:
        for i in range(self.cores - len(self.procs)):
            argv = [sys.executable, "-c", BURN]
            self.procs.append(self.registry.spawn(f"load-{i}", argv, Path(os.devnull)))

    def stop(self) -> None:
        for proc in self.procs:
            self.registry.kill(proc)
        self.procs = []
