from executions.simulator.server import SimulatorServer

__all__ = ["SimulatorServer"]
