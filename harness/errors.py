"""Errors the harness raises for bad input or a broken environment.

Each message says what was wrong and what to do about it; the CLI and the pytest plugin
print it without a traceback.
"""


class HarnessError(Exception):
    """A problem the user can fix: the message says how."""


class BadInput(HarnessError):
    """The run was asked for something that cannot be: exit code 2, like a bad option."""


class BinaryNotFound(HarnessError):
    pass


class PortInUse(HarnessError):
    pass


class ProcessFailed(HarnessError):
    """A process the harness started exited during its start, or hung (used no CPU time
    for a while without becoming ready): evidence that what it runs is broken."""


class StartTooSlow(HarnessError):
    """A start still making progress (using CPU) that did not finish within the generous
    cap: not evidence of a broken app, so the run crashed (exit 3), not bad input."""


class StillRunning(HarnessError):
    """A run asked for is still under way (its harness is alive): exit code 3."""


class NotQuiescent(HarnessError):
    """Invocations were still not completed when the quiesce bound ran out."""
