"""A local SageMaker (with Application Auto Scaling and CloudWatch alarms), for tests and the demo.

The operator never imports this package (an import-linter contract enforces it).
"""

from .clock import Durations
from .runner import Emulator, EmulatorThread

__all__ = ["Durations", "Emulator", "EmulatorThread"]
