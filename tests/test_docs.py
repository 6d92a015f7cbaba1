"""The README is a door and docs/ the manual: every page is in the site's navigation, and
every relative link in them leads to a file that exists."""

import inspect
import re

from tests.conftest import REPO

LINK = re.compile(r"\]\(([^)#\s]+)(#[^)]*)?\)")


def test_every_docs_page_is_in_the_site_navigation():
    nav = (REPO / "mkdocs.yml").read_text()
    pages = {str(p.relative_to(REPO / "docs")) for p in (REPO / "docs").rglob("*.md")}
    listed = set(re.findall(r":\s*([\w/.-]+\.md)\s*$", nav, re.M))
    assert pages == listed, (sorted(pages - listed), sorted(listed - pages))


def test_relative_links_in_the_readme_and_docs_lead_to_files():
    broken = []
    for page in [REPO / "README.md", *(REPO / "docs").rglob("*.md")]:
        for target, _ in LINK.findall(page.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(REPO)}: {target}")
    assert not broken, broken
    assert len((REPO / "README.md").read_text().split()) < 1000  # a door, not the manual


def test_the_scenario_reference_is_made_from_every_scenarios_declarations():
    """docs/reference/scenarios.md is generated (docs/hooks.py): every bundled scenario and
    every negative control it declares is in it, with the verdicts it must violate."""
    from harness import catalogue

    text = catalogue.markdown()
    for name, module in catalogue.scenario_modules().items():
        assert f"## `{name}`" in text
        for control in getattr(module, "CONTROLS", []):
            row = next(line for line in text.splitlines() if f"| `{control.name}` |" in line)
            assert all(f"`{flag}`" in row for flag in control.flags), row
    assert "<!-- scenarios -->" in (REPO / "docs/reference/scenarios.md").read_text()


def test_every_checker_says_what_it_compares_for_failed_answers_and_amounts():
    """docs/reference/checkers.md is generated: every public checker is in it, and each
    docstring has its "Failed answers:" and "Amounts:" paragraphs, not empty (issue 30)."""
    from harness import catalogue

    text = catalogue.checkers_markdown()
    found = catalogue.checkers()
    assert len(found) >= 20
    for name, fn in found.items():
        doc = inspect.getdoc(fn) or ""
        for label in catalogue.CHECKER_LABELS:
            assert catalogue.labelled(doc, label), f"{name}: no {label!r} paragraph"
        assert f"## `{name}`" in text and f"| [`{name}`](#{name}) |" in text
    assert "<!-- checkers -->" in (REPO / "docs/reference/checkers.md").read_text()


def test_the_contracts_reference_is_made_from_every_scenarios_contracts():
    """docs/reference/contracts.md is generated: every bundled scenario's contract class
    is in it, with each of its methods and assumptions (issue 28)."""
    from harness import catalogue

    text = catalogue.contracts_markdown()
    found = catalogue.contracts()
    assert len(found) >= 17
    for key, cls in found.items():
        assert f"## `{cls.__name__}` ({key})" in text
        for name, _ in catalogue.contract_methods(cls):
            assert f"- `{name}(" in text, (cls, name)
        for assumption in cls.ASSUMPTIONS:
            assert f"| `{assumption}` |" in text
    assert "<!-- contracts -->" in (REPO / "docs/reference/contracts.md").read_text()


def test_exit_codes_are_declared_once():
    """The CLI's help, the status -> code mapping and the docs' table come from EXITS."""
    from harness.cli import DESCRIPTION
    from harness.exit_codes import EXIT_CODES, EXITS, markdown_table

    table = markdown_table()
    for e in EXITS:
        assert f"  {e.code} {e.meaning}" in DESCRIPTION
        assert table.count(f"| {e.code} | {e.meaning}") == 1
        assert all(EXIT_CODES[s] == e.code for s in e.statuses)
    assert "<!-- exit-codes -->" in (REPO / "docs/how-to/reports-and-ci.md").read_text()
