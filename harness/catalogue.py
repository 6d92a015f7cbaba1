"""The bundled scenarios, their contracts and the public checkers as reference pages, made
from their declarations: each scenario module's docstring, SERVICES, CONTRACTS, Params
and CONTROLS (docs/reference/scenarios.md); each contract class's docstring,
assumptions, routes and methods (docs/reference/contracts.md); and each checker's signature
and docstring, whose "Failed answers:" and "Amounts:" paragraphs say what it compares for
answers that are not successes and for amounts (docs/reference/checkers.md), all by
docs/hooks.py. Imports the scenario modules: for the docs build, not for a run."""

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


def contracts() -> dict[str, type]:
    """Every bundled scenario's contract classes: "scenario/service" -> class."""
    return {
        f"{name}/{service}": cls
        for name, module in scenario_modules().items()
        for service, cls in getattr(module, "CONTRACTS", {}).items()
    }


def contract_methods(cls: type) -> list[tuple[str, object]]:
    """A contract's public methods, its own and those it inherits from another scenario's
    contract (not the base `Contract`'s), in the order they are declared."""
    from harness.contracts import Contract

    seen: dict[str, object] = {}
    for klass in reversed(cls.__mro__):
        if klass in (object, Contract):
            continue
        for name, member in vars(klass).items():
            if callable(member) and not name.startswith("_"):
                seen[name] = member
    return list(seen.items())


def contracts_markdown() -> str:
    """One section per contract class: where it is used, what it asks of the service (its
    docstring), the assumptions with their bundled values, the routes of a provider's own
    API, and each method with its signature and docstring."""
    out = []
    done: set[type] = set()
    for key, cls in contracts().items():
        if cls in done:
            out += [f"## `{cls.__name__}` ({key})", "", f"As above (`{cls.__name__}`).", ""]
            continue
        done.add(cls)
        bases = [b.__name__ for b in cls.__bases__ if b.__name__ != "Contract"]
        out += [
            f"## `{cls.__name__}` ({key})",
            "",
            f"`--adapter {key.split('/')[1]}=mypkg.chaos:My{cls.__name__.removesuffix('Contract')}`"
            f" subclasses it (defined in `{cls.__module__}`"
            + (f"; a `{'`, `'.join(bases)}`" if bases else "")
            + ").",
            "",
            inspect.getdoc(cls) or "",
            "",
        ]
        assumptions = getattr(cls, "ASSUMPTIONS", {})
        if assumptions:
            out += ["| assumption | bundled value | what it means |", "| --- | --- | --- |"]
            out += [
                f"| `{n}` | `{getattr(cls, n, None)!r}` | {_cell(what)} |"
                for n, what in assumptions.items()
            ]
            out.append("")
        if getattr(cls, "ROUTES", None):
            out += [f"Routes of the provider's own API: {len(cls.ROUTES)} (`ROUTES`).", ""]
        for name, method in contract_methods(cls):
            signature = (
                str(inspect.signature(method)).replace("(self, ", "(").replace("(self)", "()")
            )
            # the types' short names: "Request", not "harness.workload.client.Request"
            signature = re.sub(r"\b(?:harness|typing)\.(?:\w+\.)*", "", signature)
            doc = inspect.getdoc(method) or ""
            out += [f"- `{name}{signature}`" + (f": {' '.join(doc.split())}" if doc else "")]
        out.append("")
    return "\n".join(out)
