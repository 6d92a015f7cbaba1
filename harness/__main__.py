import signal
import sys


def _early_interrupt(signum: int, frame: object) -> None:
    sys.stderr.write("\nrestate-chaos: interrupted\n")
    sys.exit(3)  # nothing started yet: entry() installs the full handlers at once


for _sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(_sig, _early_interrupt)

from harness.cli import entry  # noqa: E402

sys.exit(entry())
