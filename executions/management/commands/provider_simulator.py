"""Serve the provider simulator (BFL, Gemini, fal, OpenAI-compatible chat) on loopback until
Ctrl-C/SIGTERM."""

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from executions.simulator import SimulatorServer


class Command(BaseCommand):
    help = ("Run the BFL / Gemini / fal / OpenAI-compatible chat simulator (real images and "
            "videos, no network).")

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--latency", type=float, default=1.0,
                            help="seconds from submission to a finished job (default 1.0)")
        parser.add_argument("--fail-rate", type=float, default=0.0,
                            help="fraction of submissions answered with a 503 (default 0)")
        parser.add_argument("--tls-cert", help="PEM certificate: serve HTTPS (with --tls-key)")
        parser.add_argument("--tls-key", help="PEM private key of --tls-cert")

    def handle(self, *args, host, port, latency, fail_rate, tls_cert, tls_key, **options):
        if (tls_cert is None) != (tls_key is None):
            raise CommandError("--tls-cert and --tls-key go together")
        if not 0 <= fail_rate <= 1:
            raise CommandError("--fail-rate must be between 0 and 1")
        if latency < 0:
            raise CommandError("--latency cannot be negative")
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        try:
            server = SimulatorServer(host=host, port=port, latency=latency, fail_rate=fail_rate,
                                     tls_cert=tls_cert, tls_key=tls_key).start()
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot listen on {host}:{port}: {exc}") from exc
        self.stdout.write(f"Provider simulator on {server.url} (latency {latency}s, "
                          f"fail rate {fail_rate:.0%}). Ctrl-C stops it.")
        self.stdout.flush()
        try:
            stop.wait()
        finally:
            server.stop()
            self.stdout.write("Provider simulator stopped.")
