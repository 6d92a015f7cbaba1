"""The harness watches itself: how late its own event loop runs, and how starved the machine.

A timing verdict is only as good as the clocks that measured it. A task that asks to sleep
TICK seconds and wakes up later measures the lag of the harness's event loop (the driver's
timestamps and the nemesis's reactions are that late); Linux's pressure stall information
(/proc/pressure/cpu) says for how much of each second some runnable task on the machine
waited for a CPU. Once a second a `lag` record goes into the history: the worst and the mean
wake-up lag of that second, and that CPU-wait share. The timing checkers read them
(harness/checkers/bounds.py): the slack they allow, and whether the harness was too starved
to judge.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from harness.workload.history import History, percentile

TICK = 0.05  # seconds the watcher sleeps between wake-ups
RECORD_EVERY = 1.0  # seconds per `lag` record
PSI_CPU = Path("/proc/pressure/cpu")


def cpu_stall_us() -> int | None:
    """Microseconds some task has waited for a CPU since boot (PSI "some"), or None where
    the kernel does not say."""
    try:
        some = PSI_CPU.read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    return int(some.rpartition("total=")[2])


class SelfWatch:
    """Samples the event loop's lag while running (start(), stop())."""

    def __init__(self, history: History) -> None:
        self.history = history
        self.lags: list[float] = []  # ms, every wake-up of the run
        self.cpu_wait: list[float] = []  # share of each recorded second
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        second: list[float] = []
        began, stall = time.monotonic(), cpu_stall_us()
        while True:
            t = time.monotonic()
            await asyncio.sleep(TICK)
            now = time.monotonic()
            lag = max(0.0, (now - t - TICK) * 1000)
            second.append(lag)
            self.lags.append(lag)
            if now - began >= RECORD_EVERY:
                fields: dict[str, Any] = {
                    "max_ms": round(max(second), 1),
                    "mean_ms": round(sum(second) / len(second), 1),
                }
                stalled = cpu_stall_us()
                if stall is not None and stalled is not None:
                    share = min(1.0, (stalled - stall) / 1e6 / (now - began))
                    fields["cpu_wait"] = round(share, 3)
                    self.cpu_wait.append(share)
                self.history.append("lag", **fields)
                second, began, stall = [], now, stalled

    def summary(self) -> dict[str, Any]:
        """The run's figures for results.json: wake-up lag percentiles (ms) and the mean
        share of time some task waited for a CPU."""
        if not self.lags:
            return {}
        out: dict[str, Any] = {
            "lag_p50_ms": round(percentile(self.lags, 50), 1),
            "lag_p99_ms": round(percentile(self.lags, 99), 1),
            "lag_max_ms": round(max(self.lags), 1),
        }
        if self.cpu_wait:
            out["cpu_wait_mean"] = round(sum(self.cpu_wait) / len(self.cpu_wait), 3)
        return out
