"""daphne as we run it (`python -m wireflow_site.serve`, same arguments as `daphne`).

Two changes to daphne's own command line, both through the hooks daphne offers (its
``server_class`` and ``action_logger``):

- Twisted parses every POST body it sees as a form before daphne gets the request, and
  answers a body it cannot parse as multipart with a bare 400 of its own (no error shape, no
  X-Request-Id, nothing logged; django/daphne#447, #325). Django parses bodies itself, so
  that parse is turned off and every request reaches the app.
- daphne writes its access log straight to stdout; here its lines go to the ``daphne.access``
  logger instead, so they pass LOGGING's filters (capability URLs redacted:
  wireflow_site.log_redaction) and handlers like every other log line.
"""

from __future__ import annotations

import gc
import logging

from daphne.access import AccessLogGenerator
from daphne.cli import CommandLineInterface
from daphne.server import Server

access_logger = logging.getLogger("daphne.access")


class _AccessLogStream:
    """The stream daphne's AccessLogGenerator writes finished lines to: a logger."""

    def write(self, line: str) -> None:
        access_logger.info(line.rstrip("\n"))

    def flush(self) -> None:
        pass


class WireflowServer(Server):
    def __init__(self, *args, action_logger=None, **kwargs) -> None:
        # daphne's CLI passes an access logger when asked for one (verbosity ≥ 1 or
        # --access-log): keep its NCSA lines, sent through logging.
        if action_logger is not None:
            action_logger = AccessLogGenerator(_AccessLogStream())
        super().__init__(*args, action_logger=action_logger, **kwargs)

    def protocol_connected(self, protocol) -> None:
        # Called from daphne's WebRequest.__init__, before Twisted's requestReceived reads the
        # flag. Twisted spells it as the constructor argument parsePOSTFormSubmission, which
        # daphne's request factory does not pass; tests/site/test_daphne.py holds us to it.
        protocol._parsePOSTFormSubmission = False
        super().protocol_connected(protocol)


    def run(self) -> None:
        # Everything loaded so far (Django, the apps, the URL conf, the catalog) lives as long
        # as the process: out of the collector's sight, a full collection no longer walks it.
        # On this app that took `GET /healthz` from 1.9 to 1.3 ms of CPU and its p99 from
        # ~200 to ~100 ms at 32 clients (README, Benchmarks: intake).
        gc.collect()
        gc.freeze()
        super().run()


class WireflowCommandLine(CommandLineInterface):
    server_class = WireflowServer


def main() -> None:
    WireflowCommandLine.entrypoint()


if __name__ == "__main__":
    main()
