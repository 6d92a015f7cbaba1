"""A scenario that starts a process behind the harness's back and never stops it."""

from harness.runtime.processes import REGISTRY


def test_leaks_a_process(tmp_path):
    REGISTRY.spawn("leaked-sleeper", ["sleep", "300"], tmp_path / "log")
