"""The provider simulator: BFL, Gemini and fal protocols on loopback, with real files."""

from executions.simulator.server import SimulatorServer

__all__ = ["SimulatorServer"]
