"""A scenario's parameters, declared once as a frozen dataclass:

    @dataclass(frozen=True)
    class Params(harness.Params):
        PAYMENTS: int = scaled(300)   # a workload size: --scale N multiplies it
        DUPLICATE: float = 0.25

The run builds the instance from the defaults, `--param NAME=VALUE` (checked against each
default's type) and `--scale`; the scenario reads `chaos.params.PAYMENTS`, its checks
`Params.of(data)`, which is the same values as recorded in run.json, so a re-analysis judges
with what the run had. Nothing is set on a module. `restate-chaos list`, the docs and the
plugin's checks of --param read the class.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import TYPE_CHECKING, Any, Self

from harness.errors import BadInput

if TYPE_CHECKING:
    from harness.checkers.data import RunData


def scaled(default: int) -> Any:
    """A workload size that `--scale N` multiplies."""
    return dataclasses.field(default=default, metadata={"scaled": True})


def to_json(value: Any) -> Any:
    """A parameter's value as run.json keeps it (sets sorted, timedeltas in seconds)."""
    if isinstance(value, set | frozenset):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    return value


def from_json(default: Any, value: Any) -> Any:
    """A recorded or given value back in the type of its default."""
    if isinstance(default, tuple | set | frozenset) and isinstance(value, list):
        return type(default)(value)
    if isinstance(default, datetime.timedelta) and isinstance(value, int | float):
        return datetime.timedelta(seconds=value)
    return value


def mismatch(default: Any, value: Any) -> str | None:
    """Why `value` (as JSON gives it) cannot stand for a parameter whose default is
    `default` (None: it can)."""
    current = to_json(default)
    kinds = (int, float) if isinstance(current, float) else type(current)
    if isinstance(current, bool) != isinstance(value, bool) or not isinstance(value, kinds):
        return f"is a {type(current).__name__} (now {current!r})"
    return None


@dataclasses.dataclass(frozen=True)
class Params:
    """The base of a scenario's parameters (a scenario without any has this, empty)."""

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Name -> default, as run.json and `--param` spell values."""
        out = {}
        for f in dataclasses.fields(cls):
            value = f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
            out[f.name] = to_json(value)
        return out

    @classmethod
    def scaled(cls) -> list[str]:
        """The workload sizes `--scale N` multiplies."""
        return [f.name for f in dataclasses.fields(cls) if f.metadata.get("scaled")]

    @classmethod
    def build(cls, given: dict[str, Any], scale: int = 1) -> Self:
        """The defaults with `given` (name -> value as JSON gives it) in their place, each
        checked against its default's type, and the scaled sizes times `scale`."""
        defaults = {f.name: getattr(cls(), f.name) for f in dataclasses.fields(cls)}
        values = {}
        for name, value in given.items():
            if name not in defaults:
                raise BadInput(
                    f"--param {name}={value!r}: no such parameter; the scenario's: "
                    f"{', '.join(defaults) or 'none'}"
                )
            problem = mismatch(defaults[name], value)
            if problem:
                raise BadInput(f"--param {name}={value!r}: {name} {problem}")
            values[name] = from_json(defaults[name], value)
        for name in cls.scaled():
            values[name] = values.get(name, defaults[name]) * scale
        return cls(**values)

    @classmethod
    def of(cls, data: RunData) -> Self:
        """The values the run had (run.json's `params`), for its checks; a parameter it did
        not record (a run made before the parameter existed) has its default."""
        recorded = data.manifest.get("params") or {}
        defaults = cls()
        return cls(
            **{
                f.name: from_json(getattr(defaults, f.name), recorded[f.name])
                for f in dataclasses.fields(cls)
                if f.name in recorded
            }
        )

    def to_record(self) -> dict[str, Any]:
        """The values as run.json keeps them."""
        return {f.name: to_json(getattr(self, f.name)) for f in dataclasses.fields(self)}


def params_class(module: Any) -> type[Params]:
    """A scenario module's `Params` (a subclass of harness.Params), else the empty base."""
    declared = getattr(module, "Params", None)
    if isinstance(declared, type) and issubclass(declared, Params):
        return declared
    return Params
