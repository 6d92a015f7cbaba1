"""Sharding a sweep across CI runners (`--shard I/N`), and merging the parts again.

A sweep (every collected scenario x seed, the negative controls too) is split into N
disjoint parts that together are the whole: the collected test ids, sorted, are shuffled
by the sweep's first seed and dealt out in turn, so every part gets about as many runs and
a slow scenario's seeds spread over the parts. Every runner collects the same ids from the
same command, so each computes the same split on its own: no coordinator.

Each part leaves a marker in its report folder (`shard-I-of-N.json`: the seed, the ids it
ran and how many the whole sweep has). `merge` copies the run folders of all parts into
one report folder, joins their JUnit files and checks the markers: a part that is missing,
or that split another sweep, is named.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import BadInput

MARKER = "shard-{i}-of-{n}.json"


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    @classmethod
    def parse(cls, spec: str) -> Shard:
        """ "I/N" with 1 <= I <= N; anything else is bad input, with an example."""
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", spec or "")
        if not m or not 1 <= int(m[1]) <= int(m[2]):
            raise BadInput(
                f"--shard {spec!r}: expected I/N with 1 <= I <= N (2/3: the second of three parts)"
            )
        return cls(int(m[1]), int(m[2]))

    def pick(self, ids: list[str], seed: int) -> list[str]:
        """The ids of this part, in their given order."""
        dealt = sorted(set(ids))
        random.Random(f"{seed}:shard").shuffle(dealt)
        mine = set(dealt[self.index - 1 :: self.count])
        return [i for i in ids if i in mine]

    @property
    def marker(self) -> str:
        return MARKER.format(i=self.index, n=self.count)


def check_spec(value: Any) -> str | None:
    """The options' check (harness/options.py): what is wrong with a --shard value."""
    if value is None:
        return None
    try:
        Shard.parse(value)
    except BadInput as e:
        return str(e).removeprefix(f"--shard {value!r}: ") + f", got {value!r}"
    return None


def write_marker(report_dir: Path, shard: Shard, seed: int, ran: list[str], total: int) -> None:
    """What this part ran, for the merge. Every pytest-xdist worker computes the same split,
    so any of them may write it (atomically: the same content)."""
    report_dir.mkdir(parents=True, exist_ok=True)
    record = {"shard": shard.index, "of": shard.count, "seed": seed, "total": total, "ran": ran}
    tmp = report_dir / f".{shard.marker}.{random.SystemRandom().randrange(16**8):08x}"
    tmp.write_text(json.dumps(record, indent=1))
    tmp.replace(report_dir / shard.marker)


@dataclass
class Merged:
    runs: int  # run folders copied
    shards: int  # parts found
    of: int | None  # the parts the sweep was split into (None: no marker found)
    missing: list[str]  # what is missing or does not belong, in words


def merge(parts: list[Path], out: Path, junit: Path | None = None) -> Merged:
    """Copy the run folders of every part (a report folder, or a folder holding one in
    `reports/`, as the nightly leaves) into the report folder `out`, join the parts' JUnit
    files into `junit`, and check the shard markers: every part of the split there, each
    from the same sweep, together running every id of it once."""
    out.mkdir(parents=True, exist_ok=True)
    markers: dict[int, dict[str, Any]] = {}
    missing: list[str] = []
    runs = 0
    suites: list[ET.Element] = []
    for part in parts:
        folder = part / "reports" if (part / "reports").is_dir() else part
        if not folder.is_dir():
            raise BadInput(f"{part}: no such folder (give each part's report folder)")
        found = sorted(folder.glob("shard-*-of-*.json"))
        if not found:
            missing.append(f"{part}: no shard marker (not a part of a sharded sweep?)")
        for f in found:
            record = json.loads(f.read_text())
            if record["shard"] in markers:
                missing.append(f"{part}: part {record['shard']} given twice")
            markers[record["shard"]] = record
        for run in sorted(p for p in folder.iterdir() if (p / "run.json").is_file()):
            target = out / run.name
            if not target.exists():
                shutil.copytree(run, target, symlinks=True)
                runs += 1
        for xml in sorted({*part.glob("junit*.xml"), *folder.glob("junit*.xml")}):
            root = ET.parse(xml).getroot()
            suites += [root] if root.tag == "testsuite" else list(root)
    of = None
    if markers:
        first = next(iter(markers.values()))
        of, sweep = first["of"], (first["of"], first["seed"], first["total"])
        for i, record in sorted(markers.items()):
            if (record["of"], record["seed"], record["total"]) != sweep:
                missing.append(
                    f"part {i}: split another sweep ({record['of']} parts of {record['total']} "
                    f"runs, seed {record['seed']}; part {first['shard']}: {of} parts of "
                    f"{first['total']}, seed {first['seed']})"
                )
        missing += [f"part {i} of {of}: missing" for i in range(1, of + 1) if i not in markers]
        ran = Counter(r for record in markers.values() for r in record["ran"])
        twice = sorted(r for r, n in ran.items() if n > 1)
        if twice:
            missing.append(f"run twice, by two parts: {', '.join(twice)}")
    if suites and junit is not None:
        joined = ET.Element("testsuites")
        joined.extend(suites)
        junit.parent.mkdir(parents=True, exist_ok=True)
        ET.ElementTree(joined).write(junit, encoding="utf-8", xml_declaration=True)
    return Merged(runs, len(markers), of, missing)
