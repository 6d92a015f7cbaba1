"""Charts of a run, drawn with matplotlib into inline SVG (self-contained, works offline).

Large runs stay light: scatter points are sampled to a fixed budget and rasterized inside
the SVG; throughput is aggregated into time bins. The raw data stays in history.jsonl.
"""

from __future__ import annotations

import functools
import io
from typing import Any

from harness.nemesis.kinds import BY_NAME
from harness.workload.history import Completed

COLORS = {"ok": "#1a7f37", "fail": "#c62828", "info": "#d68a00"}
MAX_POINTS = 4000  # per outcome


def _sample(items: list[Any], budget: int) -> list[Any]:
    if len(items) <= budget:
        return items
    step = len(items) / budget
    return [items[int(i * step)] for i in range(budget)]


def fault_bands(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """[{start, end, label, hatch, instant}] from fault-start / fault-end pairs: a network
    fault (on the path to a service) is drawn hatched ///, an upgrade xx, an instant one (a
    reset) as a line; a node of a cluster is its own target (kill n2)."""
    open_: dict[int, dict[str, Any]] = {}
    bands = []

    def band(s: dict[str, Any], end: float) -> dict[str, Any]:
        declared = BY_NAME.get(s["kind"])
        return {
            "start": s["t"],
            "end": end,
            "label": f"{s['kind']} {s['target']}",
            "hatch": declared.hatch if declared else None,
            "instant": bool(declared and declared.instant),
        }

    for r in records:
        if r["type"] == "fault-start":
            open_[r["fault"]] = r
        elif r["type"] == "fault-end" and r["fault"] in open_:
            bands.append(band(open_.pop(r["fault"]), r["t"]))
    end = max((r["t"] for r in records), default=0.0)
    return bands + [band(s, end) for s in open_.values()]


@functools.cache
def _pyplot() -> Any:
    """matplotlib's pyplot, loaded by the first chart: with numpy and PIL it is 50 MB, which
    a run's chaos and check phases (holding the workload and the history) do without."""
    import matplotlib

    matplotlib.use("Agg")  # no display; must precede pyplot
    import matplotlib.pyplot as plt

    return plt


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    _pyplot().close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg") :]  # drop the XML prolog: the SVG is inlined in HTML


def _bands(ax: Any, bands: list[dict[str, Any]]) -> None:
    targets = sorted({b["label"] for b in bands})
    palette = _pyplot().get_cmap("tab10")
    for b in bands:
        color = palette(targets.index(b["label"]) % 10)
        if b.get("instant"):
            ax.axvline(b["start"], lw=1, ls="--", color=color, alpha=0.8)
        else:
            ax.axvspan(b["start"], b["end"], alpha=0.18, lw=0, color=color, hatch=b.get("hatch"))
    for i, label in enumerate(targets):  # legend only
        b = next(b for b in bands if b["label"] == label)
        if b.get("instant"):
            ax.axvline(0, lw=1, ls="--", color=palette(i % 10), label=label)
        else:
            color = palette(i % 10)
            ax.axvspan(0, 0, alpha=0.3, lw=0, color=color, hatch=b.get("hatch"), label=label)


def timeline(ops: list[Completed], bands: list[dict[str, Any]]) -> str:
    """Latency of every operation over time, by outcome, with fault periods as bands."""
    fig, ax = _pyplot().subplots(figsize=(11, 3.6))
    _bands(ax, bands)
    end = max((o.result["t"] for o in ops if o.result), default=1.0)
    for outcome in ("ok", "fail", "info"):
        pts = [
            (o.invoke["t"], (o.result["t"] if o.result else end) - o.invoke["t"])
            for o in ops
            if o.outcome == outcome
        ]
        pts = _sample(pts, MAX_POINTS)
        if pts:
            ax.scatter(
                [p[0] for p in pts],
                [p[1] for p in pts],
                s=5,
                c=COLORS[outcome],
                label=f"{outcome} ({sum(1 for o in ops if o.outcome == outcome)})",
                rasterized=True,
                linewidths=0,
            )
    ax.set_yscale("symlog", linthresh=0.01)
    ax.set_xlabel("seconds since the run started")
    ax.set_ylabel("latency (s)")
    ax.legend(loc="upper left", fontsize=8, ncol=4)
    ax.grid(alpha=0.3)
    return _svg(fig)


def throughput(ops: list[Completed], bands: list[dict[str, Any]], bins: int = 120) -> str:
    """Completed operations per second over time, by outcome, with the fault bands."""
    fig, ax = _pyplot().subplots(figsize=(11, 2.6))
    _bands(ax, bands)
    done = [o for o in ops if o.result]
    if done:
        t_end = max(o.result["t"] for o in done) or 1.0  # type: ignore[index]
        width = t_end / bins
        for outcome in ("ok", "fail", "info"):
            counts = [0] * (bins + 1)
            for o in done:
                if o.outcome == outcome:
                    counts[int(o.result["t"] / width)] += 1  # type: ignore[index]
            if any(counts):
                ax.plot(
                    [i * width for i in range(bins + 1)],
                    [c / width for c in counts],
                    color=COLORS[outcome],
                    lw=1.2,
                    label=outcome,
                )
    ax.set_xlabel("seconds since the run started")
    ax.set_ylabel("operations / s")
    ax.legend(loc="upper left", fontsize=8, ncol=6)
    ax.grid(alpha=0.3)
    return _svg(fig)


def waits(spans: list[list[float]], bands: list[dict[str, Any]], t0_wall: float) -> str:
    """Each durable wait (a timer, an awakeable) as a line from where it began to where it
    ended, sorted by start, over the fault bands: a kill inside a wait is a band crossing
    a line; those lines are drawn dark."""
    starts = [b["start"] for b in bands]
    rows = sorted((a - t0_wall, b - t0_wall) for a, b in spans)
    rows = _sample(rows, MAX_POINTS)
    fig, ax = _pyplot().subplots(figsize=(11, 2.8))
    _bands(ax, bands)
    for crossed, color, label in ((False, "#8fbf9f", "wait"), (True, "#3b1f8f", "a fault began")):
        sel = [
            (i, a, b) for i, (a, b) in enumerate(rows) if any(a < s < b for s in starts) == crossed
        ]
        if sel:
            ax.hlines(
                [i for i, _, _ in sel],
                [a for _, a, _ in sel],
                [b for _, _, b in sel],
                colors=color,
                lw=1.2,
                label=f"{label} during the wait ({len(sel)})"
                if crossed
                else f"{label} ({len(sel)})",
                rasterized=len(rows) > 500,
            )
    ax.set_xlabel("seconds since the run started")
    ax.set_ylabel("waits, by start")
    ax.legend(loc="upper left", fontsize=8, ncol=6)
    ax.grid(alpha=0.3)
    return _svg(fig)
