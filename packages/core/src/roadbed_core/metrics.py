"""Prometheus metrics for HTTP services, one registry per service.

Each service gets its own :class:`~prometheus_client.CollectorRegistry` rather than the global
default one: in embedded mode four services share a process, and with one registry their metrics
would collide (``Duplicated timeseries``) or be exposed under each other's ``/metrics``.

Label values are kept bounded on purpose — ``route`` is the route *template*
(``/v1/tasks/{task_id}``), never the raw path, and unknown methods fold into ``OTHER`` — so a
scanner hitting random URLs cannot blow up the number of time series.
"""

from __future__ import annotations

import threading
from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

#: The ``route`` label of requests no route matched (404s from scanners, typos).
UNMATCHED_ROUTE: Final = "<unmatched>"

#: The classic Prometheus text exposition format every scraper understands.
METRICS_CONTENT_TYPE: Final = CONTENT_TYPE_PLAIN_0_0_4

_KNOWN_METHODS: Final = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)


def normalize_method(method: str) -> str:
    """The method as a label value: standard methods upper-cased, anything else ``OTHER``."""
    upper = method.upper()
    return upper if upper in _KNOWN_METHODS else "OTHER"


class HttpMetrics:
    """The request counter and latency histogram of one service, in that service's registry.

    Services may register their own collectors in :attr:`registry` (e.g. ``orders_placed_total``)
    so they are exposed by the same ``/metrics`` endpoint.
    """

    def __init__(
        self,
        service: str,
        *,
        registry: CollectorRegistry | None = None,
        process_collectors: bool = True,
    ) -> None:
        self.service = service
        self.registry = registry if registry is not None else CollectorRegistry()
        if process_collectors:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            GCCollector(registry=self.registry)
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests served, by route template and status code.",
            ("service", "method", "route", "status"),
            registry=self.registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Time from receiving a request to producing its response, by route template.",
            ("service", "method", "route"),
            registry=self.registry,
        )

    def observe(self, *, method: str, route: str, status: int, duration_seconds: float) -> None:
        """Count one finished request and record how long it took."""
        label_method = normalize_method(method)
        self.requests.labels(self.service, label_method, route, str(status)).inc()
        self.duration.labels(self.service, label_method, route).observe(duration_seconds)

    def render(self) -> bytes:
        """The registry in Prometheus text format (serve with :data:`METRICS_CONTENT_TYPE`)."""
        return generate_latest(self.registry)


_lock = threading.Lock()
_by_service: dict[str, HttpMetrics] = {}


def service_metrics(service: str) -> HttpMetrics:
    """The process-wide :class:`HttpMetrics` of ``service``, created on first use.

    The framework integrations default to it, so a service's middleware, its ``/metrics`` view and
    any business counter it adds all meet in the same registry without passing it around.
    """
    with _lock:
        metrics = _by_service.get(service)
        if metrics is None:
            metrics = _by_service[service] = HttpMetrics(service)
        return metrics
