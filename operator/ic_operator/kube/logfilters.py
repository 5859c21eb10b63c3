"""The operator's log: kopf's format, and its lines put at the level they deserve.

Set up once at start (:func:`configure`), before kopf logs anything.
"""

from __future__ import annotations

import logging
import re

import kopf

RETRIED_REQUEST = re.compile(r"Request attempt \S+ failed; will retry: ")
# kopf's line for every watch event with news, and for every loop that ends (one per
# object at each shutdown).
ROUTINE_KOPF = frozenset(
    {
        "Handler 'wake' succeeded.",
        "Handler 'ack-endpoint' succeeded.",
        "Daemon 'loop' succeeded.",
        # every Namespace and AccountMapping event (docs/accounts.md)
        "Handler 'namespace' succeeded.",
        "Handler 'account-mapping' succeeded.",
    }
)
# kopf's warning for a watched kind whose CRD is not installed: ACK's Endpoint is
# optional (spec.endpointRef), so its absence is worth an INFO line, not a WARNING.
UNRESOLVED = "Unresolved resources cannot be served"
ACK_KIND = "sagemaker.services.k8s.aws"
HEALTHZ = '"GET /healthz '


def configure(log_format: str) -> None:
    """kopf's JSON or plain format, with this module's filters on its handlers."""
    kopf.configure(log_format=kopf.LogFormat.JSON if log_format == "json" else kopf.LogFormat.FULL)
    for handler in logging.getLogger().handlers:  # the ones kopf.configure installed
        handler.addFilter(RetriesAreWarnings())
        handler.addFilter(RoutineIsDebug())
        handler.addFilter(OptionalKindIsInfo())
    logging.getLogger("botocore").setLevel(logging.WARNING)
    # A failed credential refresh (a role that cannot be assumed) is logged by botocore
    # with a traceback on every attempt; the door reports it once, naming the role
    # (aws/refusals.py), and at start `ic-operator run` stops with one line (aws/identity.py).
    logging.getLogger("botocore.credentials").setLevel(logging.ERROR)


class RetriesAreWarnings(logging.Filter):
    """Log kopf's retried Kubernetes API requests as WARNING, not ERROR.

    kopf logs every attempt that it will retry at ERROR; a fresh `helm install` meets
    one at once (the API server answers 429 "storage is (re)initializing" while the
    chart's just-created CRD settles), so alerting on ERROR would fire on every healthy
    install. The last attempt ("escalating") stays an ERROR: that one is a failure.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and RETRIED_REQUEST.match(record.getMessage()):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class RoutineIsDebug(logging.Filter):
    """Keep the lines every healthy object or probe writes out of an INFO log: kopf's
    "Handler 'wake' succeeded." (one per watch event with news: one per object at
    start-up), "Daemon 'loop' succeeded." (one per object at each shutdown) and the
    access log of the liveness probe. They are still written when the root logger is at
    DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if logging.getLogger().isEnabledFor(logging.DEBUG):
            return True
        if record.name == "kopf.objects" and record.getMessage() in ROUTINE_KOPF:
            return False
        return not (record.name == "aiohttp.access" and HEALTHZ in record.getMessage())


class OptionalKindIsInfo(logging.Filter):
    """kopf warns, at start and at every CRD change, about each watched kind it cannot
    find. The only optional one, ACK's Endpoint, is reported at INFO: a cluster without
    ACK is a normal cluster (components by spec.endpointName need none of it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.WARNING:
            message = record.getMessage()
            if message.startswith(UNRESOLVED):
                selectors = message.split("Selector(")[1:]
                if selectors and all(ACK_KIND in s for s in selectors):
                    record.levelno, record.levelname = logging.INFO, "INFO"
        return True
