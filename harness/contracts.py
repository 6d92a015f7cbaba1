"""Contracts: how a scenario talks to one of its services.

A bundled scenario states its contract in one class (which handlers it calls, with what
requests, how it reads the answers), whose defaults are the bundled service's API. To aim the
scenario at a service with another API, subclass it and override what differs, then pass
`--adapter NAME=module:Class` (`--chaos-adapter` under pytest) instead of editing the service.

Requests the scenario sends are tagged with the scenario's own vocabulary
(`Request.as_action("create", "p17", amount=5)`), so checks read "create of p17" whatever
the API calls it (`RunData.actions()`, `RunData.answers()`).
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from typing import Any, ClassVar

from harness.errors import BadInput
from harness.params import mismatch


class Contract:
    """Base of every scenario contract. Methods that build requests may return None where
    the API has no such operation: the scenario then leaves it out and says which of its
    guarantees were not exercised.

    `ASSUMPTIONS` declares what the scenario assumes of the service beyond its API (a
    step's timeout, a timer's period, how a provider fails, whether reads are shared):
    attribute name -> what it means. Each is a class attribute holding the bundled
    service's value; an adapter overrides it, `--param NAME=VALUE` over that. run.json
    records each with where its value came from, `list` shows them, and the verdicts that
    rest on one name it (`RunData.assumed`)."""

    ASSUMPTIONS: ClassVar[dict[str, str]] = {}

    # A service that calls its provider's own HTTP API (not the world's /call/{op}): the
    # routes that map that API onto the world's operations (harness/world/routes.py), and
    # the environment variables that hold the provider's base URL in the service, which the
    # harness points at the world. The service's code is unchanged.
    ROUTES: ClassVar[list[dict[str, Any]]] = []
    WORLD_URL_ENV: ClassVar[tuple[str, ...]] = ()

    def check_answer(self, action: str, answer: Any) -> None:
        """Read a probe's answer to `action` as the checks will (raise if it cannot be):
        the preflight calls it, so an answer of another shape stops the run before the
        chaos, not a checker after it."""


def load_class(spec: str, paths: list[str] = ()) -> type:  # type: ignore[assignment]
    """`module:Class`, importable from the working directory (a project's own package) or
    one of `paths` (--app-path)."""
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise BadInput(f"adapter {spec!r}: expected module:Class, e.g. mypkg.chaos:MyAdapter")
    for path in [os.getcwd(), *paths]:
        if path not in sys.path:
            sys.path.insert(0, path)
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise BadInput(
            f"adapter {spec!r} cannot be loaded: {e}. Give an importable module:Class; it is "
            "imported with the working directory on the path (run from your project's root)"
        ) from e


def _subclasses(cls: type, base: type) -> bool:
    """issubclass, also when the scenario module was imported under two names (pytest
    imports the repo's scenarios/ as `scenarios.*`, an adapter as `harness.bundled.*`)."""
    if base in cls.__mro__:
        return True
    where = source_of(base)
    return any(c.__qualname__ == base.__qualname__ and source_of(c) == where for c in cls.__mro__)


def source_of(cls: type) -> str | None:
    """The file a class was defined in (None for one whose module is not importable by
    name: re-analysis loads a run's checks under a name of its own)."""
    try:
        return inspect.getfile(cls)
    except TypeError:
        module = sys.modules.get(cls.__module__)
        return getattr(module, "__file__", None)


def make(
    spec: str | None,
    default: type[Any],
    paths: list[str] = (),  # type: ignore[assignment]
    given: dict[str, Any] | None = None,
) -> Any:
    """An instance of the adapter `spec` (imported as load_class does), which must subclass
    `default`; else `default`. `given`: values for its assumptions (--param), set on it."""
    cls = default if spec is None else load_class(spec, paths)
    if not (isinstance(cls, type) and _subclasses(cls, default)):
        raise BadInput(
            f"adapter {spec!r} must be a class that subclasses the scenario's contract "
            f"{default.__module__}.{default.__qualname__} (override what your API does "
            "differently)"
        )
    contract = cls()
    for name, value in (given or {}).items():
        if name in getattr(cls, "ASSUMPTIONS", {}):
            problem = mismatch(getattr(contract, name), value)
            if problem:
                raise BadInput(f"--param {name}={value!r}: the assumption {name} {problem}")
            setattr(contract, name, value)
    return contract


def assumptions(contract: Any, default: type[Any], given: dict[str, Any]) -> dict[str, Any]:
    """What `contract` assumes of its service, for run.json: name -> {value, source (the
    bundled default, the adapter, or --param), meaning}."""
    out = {}
    for name, meaning in getattr(type(contract), "ASSUMPTIONS", {}).items():
        value = getattr(contract, name)
        if name in given:
            source = "--param"
        elif value != getattr(default, name, value):
            source = f"the adapter {type(contract).__module__}.{type(contract).__qualname__}"
        else:
            source = "the bundled service's value"
        out[name] = {"value": value, "source": source, "meaning": meaning}
    return out


def contract_assumptions(contracts: dict[str, type]) -> dict[str, Any]:
    """The assumptions a scenario's contracts declare: name -> the bundled value."""
    return {
        name: getattr(cls, name)
        for cls in contracts.values()
        for name in getattr(cls, "ASSUMPTIONS", {})
    }
