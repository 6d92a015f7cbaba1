"""restate-chaos: chaos and fault-injection harness for Restate applications.

The public API a scenario needs; everything else is machinery.
"""

from harness.checkers.data import RunData
from harness.checkers.verdict import Verdict
from harness.nemesis.faults import Fault, kill, random_plan
from harness.run import Run
from harness.workload.client import Request

__all__ = ["Fault", "Request", "Run", "RunData", "Verdict", "kill", "random_plan"]
