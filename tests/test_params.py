"""A scenario's parameters as a frozen dataclass (harness/params.py): built from defaults,
--param and --scale with types checked, recorded in run.json, read back by the checks."""

from __future__ import annotations

import dataclasses
import datetime
import re
from types import SimpleNamespace as Data  # what Params.of reads of a RunData

import pytest

import harness
from harness.errors import BadInput
from harness.params import params_class


@dataclasses.dataclass(frozen=True)
class Params(harness.Params):
    ITEMS: int = harness.scaled(100)
    RATE: float = 0.25
    NAME: str = "drain"
    KEYS: tuple[str, ...] = ("a", "b")
    SLOW: frozenset[str] = frozenset({"u1", "u0"})
    STATES: dict[str, str] = dataclasses.field(default_factory=lambda: {"up": "UP"})
    WAIT: datetime.timedelta = datetime.timedelta(seconds=1.5)
    ON: bool = False


def test_defaults_and_scaled_sizes():
    assert Params.scaled() == ["ITEMS"]
    assert Params.defaults()["SLOW"] == ["u0", "u1"] and Params.defaults()["WAIT"] == 1.5
    p = Params.build({}, scale=3)
    assert p.ITEMS == 300 and p.RATE == 0.25  # only the scaled sizes are multiplied
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.ITEMS = 1  # type: ignore[misc]


def test_given_values_are_checked_against_their_types():
    p = Params.build({"RATE": 1, "KEYS": ["x"], "SLOW": ["z"], "WAIT": 2, "ITEMS": 10}, 2)
    got = (p.RATE, p.KEYS, p.SLOW, p.WAIT, p.ITEMS)
    assert got == (1, ("x",), frozenset({"z"}), datetime.timedelta(seconds=2), 20)
    for name, value, says in [
        ("ITEMS", 1.5, "ITEMS is a int (now 100)"),
        ("ON", 1, "ON is a bool (now False)"),
        ("RATE", "fast", "RATE is a float (now 0.25)"),
        ("NAME", 3, "NAME is a str"),
        ("ITEMZ", 1, "no such parameter; the scenario's: ITEMS, RATE"),
    ]:
        with pytest.raises(BadInput, match=re.escape(says)):
            Params.build({name: value})


def test_the_checks_read_the_values_the_run_recorded():
    p = Params.build({"NAME": "in_place", "SLOW": ["q"]}, scale=2)
    recorded = Data(manifest={"params": p.to_record()})
    assert Params.of(recorded) == p
    assert Params.of(Data(manifest={})) == Params()  # a run from before: the defaults


def test_a_module_without_params_has_the_empty_base():
    assert params_class(Data()) is harness.Params and harness.Params.defaults() == {}
    assert params_class(Data(Params=Params)) is Params
