"""Reports: one run's index.html (render), a folder's dashboard (dashboard)."""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def templates() -> Any:
    """The report templates, loaded on the first render (jinja2 is not needed before)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(
        loader=PackageLoader("harness.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
