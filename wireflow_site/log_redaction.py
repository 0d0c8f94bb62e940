"""Capability URLs never reach a log line whole.

A webhook trigger's id, a run's status secret and a share token are the keys of key-less URLs:
whoever reads them in an access log can run the workflow, read the run, or open the share.
LOGGING puts this filter on the one console handler every logger (daphne's access log
included, see wireflow_site.serve) writes through.
"""

from __future__ import annotations

import logging
import re

KEPT = 4  # characters left to tell two ids apart in a log; 4 of 32 reveal nothing usable
MASK = "..."

_CAPABILITIES = re.compile(
    r"(?P<lead>/workflow/)(?P<value>[^/?#\s\"']+)(?=/trigger)"
    r"|(?P<qlead>[?&]secret=)(?P<qvalue>[^&#\s\"']+)"
    r"|(?P<slead>/share/)(?P<svalue>[^/?#\s\"']+)"
)


def _mask(match: re.Match) -> str:
    lead = match.group("lead") or match.group("qlead") or match.group("slead")
    value = match.group("value") or match.group("qvalue") or match.group("svalue")
    return lead + value[:KEPT] + MASK


def redact(text: str) -> str:
    return _CAPABILITIES.sub(_mask, text)


class RedactCapabilities(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call; the handler reports it
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
