"""On a worker's PYTHONPATH (bench_scale.py, SCALE_PHASES=1): once the worker is ready, wrap
its steps with bench/cpu_phases.py; write their CPU when it shuts down."""

import os
import sys

if os.environ.get("CPU_PHASES_OUT"):
    from celery.signals import worker_ready, worker_shutdown

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import cpu_phases

    worker_ready.connect(lambda **_: cpu_phases.install(), weak=False)
    worker_shutdown.connect(lambda **_: cpu_phases.dump(), weak=False)
