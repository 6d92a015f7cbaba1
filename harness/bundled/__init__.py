"""The bundled pattern services and scenarios, shipped inside the `harness` package.

In the repo they live at the top level (`services/`, `scenarios/`, where `pytest scenarios/`
finds them); pyproject.toml maps them to `harness.bundled.services` and
`harness.bundled.scenarios`, so an installed wheel has no generic top-level packages and
`restate-chaos run payments` works from any folder. Always import them by these names.
"""

from pathlib import Path


def scenario_dir() -> Path:
    """Where the bundled scenario files are: the repo's scenarios/ in a checkout."""
    from harness.bundled import scenarios

    return Path(scenarios.__file__).resolve().parent
