"""Serve the provider simulator (BFL, Gemini, fal protocols) on loopback until Ctrl-C."""

import signal
import threading

from django.core.management.base import BaseCommand

from executions.simulator import SimulatorServer


class Command(BaseCommand):
    help = "Run the BFL / Gemini / fal protocol simulator on loopback (returns real images)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--latency", type=float, default=1.0,
                            help="seconds from submission to a finished job")
        parser.add_argument("--fail-rate", type=float, default=0.0,
                            help="fraction of submissions answered with a 503")

    def handle(self, *args, host, port, latency, fail_rate, **options):
        if not 0 <= fail_rate <= 1:
            self.stderr.write("--fail-rate must be between 0 and 1")
            raise SystemExit(2)
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        server = SimulatorServer(host=host, port=port, latency=latency,
                                 fail_rate=fail_rate).start()
        self.stdout.write(f"Provider simulator on {server.url} (latency {latency}s, "
                          f"fail rate {fail_rate:.0%}). Ctrl-C stops it.")
        try:
            stop.wait()
        finally:
            server.stop()
            self.stdout.write("Simulator stopped.")
