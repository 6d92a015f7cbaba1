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
from typing import Any

from harness.errors import BadInput


class Contract:
    """Base of every scenario contract. Methods that build requests may return None where
    the API has no such operation: the scenario then leaves it out and says which of its
    guarantees were not exercised."""

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
    where = inspect.getfile(base)
    return any(
        c.__qualname__ == base.__qualname__ and inspect.getfile(c) == where for c in cls.__mro__
    )


def make(spec: str | None, default: type[Any], paths: list[str] = ()) -> Any:  # type: ignore[assignment]
    """An instance of the adapter `spec` (imported as load_class does), which must subclass
    `default`; else `default`."""
    if spec is None:
        return default()
    cls = load_class(spec, paths)
    if not (isinstance(cls, type) and _subclasses(cls, default)):
        raise BadInput(
            f"adapter {spec!r} must be a class that subclasses the scenario's contract "
            f"{default.__module__}.{default.__qualname__} (override what your API does "
            "differently)"
        )
    return cls()
