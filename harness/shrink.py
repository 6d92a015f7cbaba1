"""Shrink a violated run to a minimal reproduction (`restate-chaos shrink RUN_DIR`).

Real processes do not rerun exactly, so every candidate is run up to `tries` times and
counts as failing if one of its runs violates a guarantee the original run violated. The
search is delta debugging (Zeller's ddmin): first over the faults, as they actually fired
(the replay plan), then over the workload's business keys, then over the items left on
those keys. Between the faults and the keys, each fault that acted after a count of
requests is anchored on the world event of a counterexample's key just before it, so that
it keeps its moment when fewer keys run. Before each ddmin it tries the counterexample's
own keys (and no faults at all), which is often the whole answer in one run. Every
candidate is a normal run directory under SHRINK_DIR/steps; the result is
SHRINK_DIR/plan.json, subset.json and shrink.json (sizes, runs, time, the success rate
over `confirm` reruns, the command).
"""

from __future__ import annotations

import hashlib
import json
import math
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from harness.checkers.data import RunData
from harness.errors import BadInput
from harness.manifest import rerun_command, write_json
from harness.nemesis.faults import INSTANT, Fault, describe, fired, replay_plan
from harness.workload.history import read, wall_at_start

T = TypeVar("T")
TRIES = 3  # runs per candidate (docs/how-to/reproduce.md, "Shrinking", for the rates behind it)
RELIABLE = 0.5  # a reproduction violates in at least this share of its confirming reruns ...
STEPS_BACK = 4  # ... else the shrink takes a larger one, trying at most this many
ANCHOR_S = 1.0  # a fault is moved onto a world event at most this long before it acted


@dataclass
class Budget:
    """Bounds of a search: wall seconds and runs. `spent()` once either runs out."""

    seconds: float
    runs: int
    t0: float = field(default_factory=time.monotonic)
    used: int = 0

    def spent(self) -> bool:
        return self.used >= self.runs or time.monotonic() - self.t0 >= self.seconds


def ddmin(
    items: Sequence[T], fails: Callable[[list[T]], bool], budget: Budget | None = None
) -> list[T]:
    """A 1-minimal failing subsequence of `items` (which must fail as a whole), by delta
    debugging: try each of n chunks alone, then each complement; on failure keep it and
    restart, else double n. Stops early, with the smallest failing subsequence found so
    far, when `budget` is spent. `fails` results are cached per candidate."""
    current = list(items)
    seen: dict[tuple[int, ...], bool] = {}
    index = {id(x): i for i, x in enumerate(items)}

    def test(candidate: list[T]) -> bool:
        sig = tuple(index[id(x)] for x in candidate)
        if sig not in seen:
            seen[sig] = fails(candidate)
        return seen[sig]

    n = 2
    while len(current) >= 2 and not (budget and budget.spent()):
        chunks = split(current, n)
        reduced = False
        for chunk in chunks:
            if budget and budget.spent():
                return current
            if test(chunk):
                current, n, reduced = chunk, 2, True
                break
        if not reduced and n > 2:  # complements (with n == 2 they are the chunks again)
            for i in range(len(chunks)):
                if budget and budget.spent():
                    return current
                complement = [x for j, c in enumerate(chunks) if j != i for x in c]
                if test(complement):
                    current, n, reduced = complement, max(n - 1, 2), True
                    break
        if not reduced:
            if n >= len(current):
                break
            n = min(len(current), 2 * n)
    return current


def split(items: list[T], n: int) -> list[list[T]]:
    """`items` in n contiguous chunks of near-equal size."""
    size, extra = divmod(len(items), n)
    out, start = [], 0
    for i in range(n):
        end = start + size + (i < extra)
        out.append(items[start:end])
        start = end
    return [c for c in out if c]


@dataclass
class Candidate:
    faults: list[Fault]
    keys: list[str] | None = None  # None: every key
    items: list[int] | None = None  # None: every item on the kept keys

    def sig(self) -> str:
        """A short name for what the candidate is: equal candidates have equal ones."""
        text = json.dumps([[asdict(f) for f in self.faults], self.subset()], sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:12]

    def subset(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.keys is not None:
            out["keys"] = self.keys
        if self.items is not None:
            out["items"] = self.items
        return out


class Shrinker:
    def __init__(
        self,
        run_dir: Path,
        out: Path,
        tries: int = TRIES,
        confirm: int = 5,
        budget: Budget | None = None,
        say: Callable[[str], None] = print,
    ):
        self.run_dir, self.out, self.tries, self.confirm = run_dir, out, tries, confirm
        self.budget = budget or Budget(seconds=900, runs=120)
        self.say = say
        self.manifest = read_json(run_dir / "run.json")
        results = read_json(run_dir / "results.json")
        self.targets = sorted(v["id"] for v in results.get("verdicts", []) if v["valid"] is False)
        if not self.targets:
            raise BadInput(
                f"shrink {run_dir}: the run violated no guarantee (status "
                f"{results.get('status')!r}); only a violated run has something to shrink"
            )
        # the run's own command, without a plan or subset of its own
        tokens, prefix = rerun_command(self.manifest, drop=("plan", "subset"))
        if prefix is None:
            raise BadInput(
                "shrink: the run records no command to rerun it "
                f"({self.manifest.get('reproduce')!r})"
            )
        self.tokens = tokens
        self.prefix = prefix
        self.counterexamples = [
            cx for v in results["verdicts"] if v["valid"] is False
            for cx in v.get("counterexamples", [])
        ]  # fmt: skip
        self.records = read(run_dir / "history.jsonl")
        self.steps = 0
        self.log: list[dict[str, Any]] = []
        # every candidate that violated, in the order found: each smaller than the one before
        self.chain: list[Candidate] = []

    # -- one candidate -----------------------------------------------------------------
    def fails(self, c: Candidate) -> bool:
        """Run `c` up to `tries` times; True at the first run that violates a target."""
        for _ in range(self.tries):
            if self.budget.spent():
                return False
            if self.run(c)["reproduced"]:
                self.chain.append(c)
                return True
        return False

    def run(self, c: Candidate) -> dict[str, Any]:
        self.steps += 1
        self.budget.used += 1
        step = self.out / "steps" / f"{self.steps:03d}"
        step.mkdir(parents=True, exist_ok=True)
        plan, subset = step / "plan.json", step / "subset.json"
        write_json(plan, [asdict(f) for f in c.faults])
        write_json(subset, c.subset())
        t0 = time.monotonic()
        p = self.prefix
        runner = (
            [sys.executable, "-m", "harness"]
            if p == "--"
            else [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"]
        )
        proc = subprocess.run(
            [*runner, *self.tokens[1:], f"{p}plan", str(plan), f"{p}subset", str(subset),
             f"{p}report-dir", str(step), f"{p}drop-data",  # 200 MB a run: not for 100 runs
             f"{p}no-html"],  # 1 s a run; `restate-chaos report STEP` renders one
            capture_output=True, text=True,
        )  # fmt: skip
        violated = []
        for res in step.glob("*/results.json"):
            violated += [v["id"] for v in read_json(res).get("verdicts", []) if v["valid"] is False]
        entry = {
            "step": self.steps,
            "candidate": c.sig(),
            "faults": len(c.faults),
            "keys": None if c.keys is None else len(c.keys),
            "items": None if c.items is None else len(c.items),
            "ops": self.ops_sent(step),
            "violated": sorted(set(violated)),
            "reproduced": bool(set(violated) & set(self.targets)),
            "exit": proc.returncode,
            "seconds": round(time.monotonic() - t0, 1),
        }
        if proc.returncode not in (0, 1):  # bad input or could not run: no evidence either way
            entry["error"] = (proc.stderr or proc.stdout)[-500:]
        self.log.append(entry)
        self.say(
            f"  step {self.steps:3d}: {len(c.faults)} fault(s), "
            f"{entry['ops'] if entry['ops'] is not None else '?'} request(s): "
            + ("violated " + ", ".join(entry["violated"]) if entry["violated"] else "held")
            + f" ({entry['seconds']} s)"
        )
        return entry

    @staticmethod
    def ops_sent(step: Path) -> int | None:
        for h in step.glob("*/history.jsonl"):
            return requests_sent(read(h))
        return None

    # -- the search --------------------------------------------------------------------
    def shrink(self) -> dict[str, Any]:
        t0 = time.monotonic()
        faults = replay_plan(self.run_dir)
        keys = workload_keys(self.records)
        generated = next((r["items"] for r in self.records if r.get("type") == "workload"), None)
        self.say(
            f"shrinking {self.run_dir.name}: violated {', '.join(self.targets)}; "
            f"{len(faults)} fault(s) as fired, {len(keys)} key(s), "
            f"{generated if generated is not None else '?'} request(s); up to {self.tries} "
            f"run(s) per candidate, at most {self.budget.runs} runs / {self.budget.seconds:.0f} s"
        )
        best = Candidate(faults)
        if not self.fails(best):
            return self.finish(best, t0, reproduced=False)
        self.say("faults:")
        if best.faults and self.fails(Candidate([])):
            best = Candidate([])
        elif len(best.faults) > 1:
            best.faults = ddmin(best.faults, lambda fs: self.fails(Candidate(fs)), self.budget)
        anchored = self.anchored(best.faults, faults)
        if anchored != best.faults:
            self.say("anchoring: the faults on the world events of the counterexample's keys")
            if self.fails(Candidate(anchored)):
                best = Candidate(anchored)
        if len(keys) > 1:
            self.say("keys:")
            witness = self.witness_keys(keys)
            if witness and len(witness) < len(keys) and self.fails(Candidate(best.faults, witness)):
                keys = witness
            if len(keys) > 1:
                keys = ddmin(keys, lambda ks: self.fails(Candidate(best.faults, ks)), self.budget)
            best = Candidate(best.faults, keys)
        self.say("requests:")
        kept = self.kept_items(best, generated)
        if kept is not None and len(kept) > 1 and not self.budget.spent():
            named = self.witness_items(kept)
            if 0 < len(named) < len(kept) and self.fails(Candidate(best.faults, best.keys, named)):
                kept = named
            best.items = ddmin(
                kept, lambda its: self.fails(Candidate(best.faults, best.keys, its)), self.budget
            )
        return self.finish(best, t0, reproduced=True)

    def anchored(self, kept: list[Fault], faults: list[Fault]) -> list[Fault]:
        """`kept` (of the replay plan `faults`: one per fault that acted, in order), each
        fault that acted after a number of finished requests moved onto the world event that
        came last before it (within ANCHOR_S) on a key the counterexamples name: "kill the
        worker right after the world recorded job3:2". It then lands in the same place on
        every rerun, and in a run of fewer keys, where a count of requests is another
        moment. Faults with no such event stay as they are."""
        witness = set(self.witness_keys(workload_keys(self.records)))
        calls = RunData.load_json(self.run_dir / "ledger.json", {}).get("calls", [])
        applied = [c for c in calls if c.get("outcome") == "applied" and c.get("key")]
        acted = {id(f): start["wall"] for f, start in zip(faults, fired(self.run_dir), strict=True)}
        out = []
        for f in kept:
            at = acted[id(f)]
            near = [
                c for c in applied
                if at - ANCHOR_S <= c["wall"] < at and on_key(str(c["key"]), witness)
            ]  # fmt: skip
            if f.after_ops is None or not near:
                out.append(f)
                continue
            last = max(near, key=lambda c: c["wall"])
            event = {"op": last["op"], "outcome": "applied", "key": last["key"]}
            out.append(Fault(f.kind, f.target, on_event=event, downtime=f.downtime, args=f.args))
        return out

    def witness_keys(self, keys: list[str]) -> list[str]:
        """The keys the counterexamples name (their `key`, or their operations' keys)."""
        by_op = {r["op"]: r.get("subject", r.get("key")) for r in self.records
                 if r.get("type") == "invoke"}  # fmt: skip
        named: list[str] = []
        for cx in self.counterexamples:
            for k in [cx.get("key"), *(by_op.get(op) for op in cx.get("ops", []))]:
                if k is not None and str(k) in keys and str(k) not in named:
                    named.append(str(k))
        return named

    def witness_items(self, kept: list[int]) -> list[int]:
        """The workload positions of the counterexamples' requests (their retries and
        repeats too: every position that sent the same idempotency key), among `kept`."""
        invokes = [r for r in self.records if r.get("type") == "invoke" and "item" in r]
        named = {op for cx in self.counterexamples for op in cx.get("ops", [])}
        requests = {r.get("idem") or r["op"] for r in invokes if r["op"] in named}
        positions = {r["item"] for r in invokes if (r.get("idem") or r["op"]) in requests}
        return [i for i in kept if i in positions]

    def kept_items(self, c: Candidate, generated: int | None) -> list[int] | None:
        """Workload positions a run of `c` sends: all of them without a key cut, else those
        a run of `c` recorded (the key search ran it)."""
        if c.keys is None:
            return None if generated is None else list(range(generated))
        for entry in reversed(self.log):
            if entry["candidate"] == c.sig():
                step = self.out / "steps" / f"{entry['step']:03d}"
                for h in step.glob("*/history.jsonl"):
                    for r in read(h):
                        if r.get("type") == "workload" and "positions" in r:
                            return list(r["positions"])
        return None

    def confirmed(self, best: Candidate) -> tuple[Candidate, float | None, list[dict[str, Any]]]:
        """`best` if it violates in at least RELIABLE of `confirm` reruns, else the next
        larger candidate of the chain that does (up to STEPS_BACK of them; if none does, the
        most reliable): a reproduction that fails once in five is a poor one to hand over.
        Returns the one chosen, its rate, and the smaller ones passed over with theirs."""
        if not self.confirm:
            return best, None, []
        larger: list[Candidate] = []
        for c in reversed(self.chain):  # the chain's larger ones, newest first, each once
            if c != best and c not in larger and len(larger) < STEPS_BACK:
                larger.append(c)
        rated: list[tuple[Candidate, float, int | None]] = []
        for c in [best, *larger]:
            self.say(f"confirming: {self.confirm} more run(s) of the reproduction")
            runs = [self.run(c) for _ in range(self.confirm)]
            rated.append((c, sum(e["reproduced"] for e in runs) / len(runs), runs[-1]["ops"]))
            if rated[-1][1] >= RELIABLE:
                break
            self.say(f"  violated in {rated[-1][1]:.0%} only: a larger one")
        chosen = max(rated, key=lambda r: r[1])  # the first (smallest) of the most reliable
        over = [{"faults": len(c.faults), "ops": ops, "rate": rate} for c, rate, ops in rated
                if c is not chosen[0]]  # fmt: skip
        return chosen[0], chosen[1], over

    def finish(self, best: Candidate, t0: float, reproduced: bool) -> dict[str, Any]:
        rate, passed_over = None, []
        if reproduced:
            best, rate, passed_over = self.confirmed(best)
        write_json(self.out / "plan.json", [asdict(f) for f in best.faults])
        write_json(self.out / "subset.json", best.subset())
        original_ops = requests_sent(self.records)
        mine = [e for e in self.log if e["candidate"] == best.sig()]
        minimal_ops = next((e["ops"] for e in reversed(mine) if e["ops"] is not None), None)
        last = next((e for e in reversed(mine) if e["reproduced"]), None)
        command = shlex.join(
            [*self.tokens, f"{self.prefix}plan", str(self.out / "plan.json"),
             f"{self.prefix}subset", str(self.out / "subset.json")]
        )  # fmt: skip
        summary = {
            "run": str(self.run_dir),
            "violated": self.targets,
            "reproduced": reproduced,
            "original": {"faults": len(replay_plan(self.run_dir)), "ops": original_ops},
            "minimal": {
                "faults": len(best.faults),
                "keys": best.keys,
                "items": None if best.items is None else len(best.items),
                "ops": minimal_ops,
                "plan": [asdict(f) for f in best.faults],
                # the original's violations the minimal one shows (its last reproducing run)
                "violated": sorted(set(last["violated"]) & set(self.targets)) if last else [],
            },
            "success_rate": rate,
            "smaller_but_flakier": passed_over,
            "confirm_runs": self.confirm if reproduced else 0,
            "runs": self.steps,
            "seconds": round(time.monotonic() - t0, 1),
            "tries": self.tries,
            "budget_spent": self.budget.spent(),
            "command": command,
            "steps": self.log,
        }
        step = self.out / "steps" / f"{last['step']:03d}" if last else None
        run = next(step.glob("*/history.jsonl"), None) if step else None
        summary["story"] = story(run.parent, self.targets) if reproduced and run else []
        write_json(self.out / "shrink.json", summary)
        write_json(self.run_dir / "minimal.json", summary)
        return summary


STORY_LINES = 40  # a longer reproduction is told in part, with how much was left out


def story(run_dir: Path, targets: list[str]) -> list[str]:
    """A reproduction as a short story, like an Elle witness: the requests sent (first
    attempts; a retry is the same request), what the world recorded, the faults, their
    answers, then what broke."""
    records = read(run_dir / "history.jsonl")
    results = read_json(run_dir / "results.json")
    ledger = RunData.load_json(run_dir / "ledger.json", {})
    t0_wall = wall_at_start(records)
    invokes = {r["op"]: r for r in records if r.get("type") == "invoke"}
    sent: set[Any] = set()
    lines: list[tuple[float, str]] = []
    for r in records:
        kind, inv = r.get("type"), invokes.get(r.get("op"))
        if inv is not None and (inv.get("preflight") or inv.get("check_read")):
            continue  # the harness's own probes and final reads
        if kind == "invoke" and (r.get("idem") or r["op"]) not in sent:
            sent.add(r.get("idem") or r["op"])
            key = f" (idempotency key {r['idem']})" if r.get("idem") else ""
            lines.append((r["t"], f"send {named(r)}{key}"))
        elif kind in ("ok", "fail") and inv is not None:
            told = r.get("resp") if kind == "ok" else str(r.get("error") or "")[:80]
            answer = "acknowledged" if kind == "ok" else "failed"
            lines.append((r["t"], f"{named(inv)} {answer}: {json.dumps(told)[:80]}"))
        elif kind == "fault-start":
            how = (
                describe(r["kind"], r["target"])
                + ", "
                + (
                    f"{r.get('event_lag_ms')} ms after the world recorded {r['world_key']}"
                    if r.get("world_key") is not None
                    else f"after {r.get('ops_done', '?')} request(s) finished"
                )
            )
            lines.append((r["t"], how + ("" if r.get("landed", True) else " (missed)")))
        elif kind == "fault-end" and r["kind"] not in INSTANT:
            lines.append((r["t"], f"{r['target']} back ({r['kind']} undone)"))
    start = next((r["t"] for r in records if r.get("type") == "workload"), -math.inf)
    for c in ledger.get("calls", []):
        what = f"the world records {c['op']} for {c.get('key')}: {c['outcome']}"
        t = c["wall"] - t0_wall
        lines.append((t, what + (" (the harness's preflight probe)" if t < start else "")))
    lines.sort(key=lambda x: x[0])
    told = [f"{t:7.3f} s  {text}" for t, text in lines[:STORY_LINES]]
    if len(lines) > STORY_LINES:
        told.append(f"          ... and {len(lines) - STORY_LINES} more events")
    for v in results.get("verdicts", []):
        if v["id"] in targets and v["valid"] is False:
            cx = (v.get("counterexamples") or [{}])[0]
            facts = [
                f"{k} {json.dumps(x)[:60]}"
                for k, x in cx.items()
                if k not in HIDDEN and not isinstance(x, list | dict)  # ledger rows: the report
            ]
            broke = f"{cx.get('key', '')} {cx.get('problem', v['summary'])}".strip()
            told.append(
                f"Then {v['name']} was violated: {broke}" + f" ({', '.join(facts)})" * bool(facts)
            )
    return told


HIDDEN = ("ops", "effects", "problem", "key")  # a counterexample's fields the story leaves out


def named(invoke: dict[str, Any]) -> str:
    """An operation in the scenario's words: its action and subject (else handler, key)."""
    subject = invoke.get("subject", invoke.get("key"))
    return f"{invoke.get('action', invoke.get('handler'))} {subject or ''}".strip()


def requests_sent(records: list[dict[str, Any]]) -> int:
    """The workload's requests a run sent: distinct by idempotency key (else operation),
    retries not counted, nor the harness's own probes and final reads. A flow's requests
    count one by one."""
    return len(
        {
            r.get("idem") or r["op"]
            for r in records
            if r.get("type") == "invoke" and not r.get("preflight") and not r.get("check_read")
        }
    )


def on_key(world_key: str, keys: set[str]) -> bool:
    """Whether a world call's key is one of the workload's `keys` or part of one ("job3:2"
    of task job3)."""
    return world_key in keys or world_key.split(":", 1)[0] in keys


def workload_keys(records: list[dict[str, Any]]) -> list[str]:
    """The run's business keys in order of first use: its `workload` record's, else those
    of the operations it sent (a run recorded before workload records)."""
    for r in records:
        if r.get("type") == "workload" and "keys" in r:
            return [str(k) for k in r["keys"]]
    keys: list[str] = []
    for r in records:
        if r.get("type") == "invoke" and not r.get("preflight"):
            k = r.get("subject", r.get("key"))
            if k is not None and str(k) not in keys:
                keys.append(str(k))
    return keys


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise BadInput(f"shrink: {path.parent} is not a finished run folder ({e})") from None
