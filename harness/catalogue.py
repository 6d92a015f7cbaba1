"""The bundled scenarios as a reference table, made from their declarations (each scenario
module's docstring, SERVICES, CONTRACTS, parameters, SCALED and CONTROLS): the docs' page
docs/reference/scenarios.md (by docs/hooks.py). Imports the scenario modules: for the docs
build, not for a run."""

from __future__ import annotations

import importlib
import inspect

from harness.bundled import scenario_dir
from harness.cli import describe


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def scenario_modules() -> dict[str, object]:
    names = sorted(p.stem for p in scenario_dir().glob("scenario_*.py"))
    return {
        n.removeprefix("scenario_"): importlib.import_module(f"harness.bundled.scenarios.{n}")
        for n in names
    }


def markdown() -> str:
    """One section per scenario: what it checks, its services and contracts, parameters,
    and the negative controls it must flag."""
    out = []
    for name, module in scenario_modules().items():
        doc = inspect.getdoc(module) or ""
        out += [f"## `{name}`", "", doc.split("\n\n")[0].replace("\n", " "), ""]
        services = getattr(module, "SERVICES", {})
        contracts = getattr(module, "CONTRACTS", {})
        rows = ["| service (`--app NAME=`) | bundled implementation | contract (`--adapter`) |"]
        rows.append("| --- | --- | --- |")
        for svc, app in services.items():
            contract = contracts.get(svc)
            rows.append(
                f"| `{svc}` | `{app}` | "
                + (f"`{contract.__module__}.{contract.__name__}`" if contract else "none")
                + " |"
            )
        out += [*rows, ""]
        declared = describe(scenario_dir() / f"scenario_{name}.py")  # as `list` shows them
        params, scaled = declared["params"], declared.get("scaled", [])
        if params:
            listed = ", ".join(
                f"`{k}={v!r}`" + (" (scaled)" if k in scaled else "") for k, v in params.items()
            )
            out += [f"Parameters (`--param NAME=VALUE`): {listed}.", ""]
        controls = getattr(module, "CONTROLS", [])
        if controls:
            out += ["| negative control | the bug | must violate |", "| --- | --- | --- |"]
            for c in controls:
                flags = ", ".join(f"`{f}`" for f in c.flags)
                out.append(f"| `{c.name}` | {_cell(c.bug)} | {flags} |")
            out.append("")
    return "\n".join(out)
