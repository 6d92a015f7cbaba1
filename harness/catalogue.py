"""The bundled scenarios and the public checkers as reference pages, made from their
declarations: each scenario module's docstring, SERVICES, CONTRACTS, parameters, SCALED and
CONTROLS (docs/reference/scenarios.md), and each checker's signature and docstring, whose
"Failed answers:" and "Amounts:" paragraphs say what it compares for answers that are not
successes and for amounts (docs/reference/checkers.md), both by docs/hooks.py. Imports the
scenario modules: for the docs build, not for a run."""

from __future__ import annotations

import importlib
import inspect
import re

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


CHECKER_LABELS = ("Failed answers:", "Amounts:")


def checkers() -> dict[str, object]:
    """The public checkers (`from harness import check_...`), by name."""
    import harness

    return {n: getattr(harness, n) for n in sorted(harness.__all__) if n.startswith("check_")}


def labelled(doc: str, label: str) -> str:
    """The paragraph of a checker's docstring that starts with `label`, on one line."""
    others = "|".join(re.escape(x) for x in CHECKER_LABELS)
    m = re.search(rf"^{re.escape(label)} (.*?)(?=^(?:{others})|\n\n|\Z)", doc, re.M | re.S)
    return " ".join(m.group(1).split()) if m else ""


def checkers_markdown() -> str:
    """A table of what each checker compares for failed answers and amounts, then one
    section per checker: its module, signature and docstring."""
    found = checkers()
    rows = ["| checker | failed answers | amounts |", "| --- | --- | --- |"]
    sections = []
    for name, fn in found.items():
        doc = inspect.getdoc(fn) or ""
        failed, amounts = (_cell(labelled(doc, label)) for label in CHECKER_LABELS)
        rows.append(f"| [`{name}`](#{name}) | {failed} | {amounts} |")
        signature = re.sub(r"<function <lambda> at 0x[0-9a-f]+>", "...", str(inspect.signature(fn)))
        signature = signature.replace("'", "")
        sections += [
            f"## `{name}`",
            "",
            f"`from harness import {name}` (defined in `{fn.__module__}`)",
            "",
            f"```python\n{name}{signature}\n```",
            "",
            doc,
            "",
        ]
    return "\n".join([*rows, "", *sections])
