"""Negative controls: a broken variant of one of a scenario's services that the same
scenario must flag, or a broken way of running it (a scenario parameter, e.g. an upgrade
made in place). Declared next to the scenario (`CONTROLS = [...]` in its module), so tests
and `restate-chaos list` read them from there."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Control:
    service: str  # the scenario's service name, as given to `--app NAME=...`
    app: str  # the broken implementation (module:app, cmd:..., ...)
    flags: tuple[str, ...]  # ids of the verdicts that must come out violated
    bug: str = ""  # the bug, in a few words
    # scenario parameters the control runs with (--param NAME=VALUE), for a control that is
    # a broken procedure rather than a broken service: ((name, JSON value), ...)
    params: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        """A short name: the broken module's (`payments_random_key`), and its parameters."""
        module = self.app.partition(":")[0].rsplit(".", 1)[-1]
        return "+".join([module, *(f"{k}={v}" for k, v in self.params)])

    def options(self, prefix: str = "--") -> list[str]:
        """Its command-line options: --app, and --param for each parameter (`prefix`
        "--chaos-" gives pytest's)."""
        out = [f"{prefix}app", f"{self.service}={self.app}"]
        for k, v in self.params:
            out += [f"{prefix}param", f"{k}={v}"]
        return out
