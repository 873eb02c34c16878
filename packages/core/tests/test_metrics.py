"""HttpMetrics: per-service registries, bounded labels, text exposition."""

from __future__ import annotations

import pytest
from prometheus_client import Counter

from roadbed_core.metrics import (
    METRICS_CONTENT_TYPE,
    UNMATCHED_ROUTE,
    HttpMetrics,
    normalize_method,
    service_metrics,
)


def test_observe_counts_and_times_a_request() -> None:
    # given
    metrics = HttpMetrics("shop", process_collectors=False)
    # when
    metrics.observe(method="GET", route="/v1/products/{id}", status=200, duration_seconds=0.02)
    metrics.observe(method="GET", route="/v1/products/{id}", status=200, duration_seconds=0.3)
    metrics.observe(method="GET", route="/v1/products/{id}", status=404, duration_seconds=0.01)
    # then
    registry = metrics.registry
    labels = {"service": "shop", "method": "GET", "route": "/v1/products/{id}"}
    assert registry.get_sample_value("http_requests_total", {**labels, "status": "200"}) == 2.0
    assert registry.get_sample_value("http_requests_total", {**labels, "status": "404"}) == 1.0
    assert registry.get_sample_value("http_request_duration_seconds_count", labels) == 3.0
    assert registry.get_sample_value("http_request_duration_seconds_sum", labels) == pytest.approx(
        0.33
    )
    assert (
        registry.get_sample_value("http_request_duration_seconds_bucket", {**labels, "le": "0.025"})
        == 2.0
    )


@pytest.mark.parametrize(
    ("method", "label"),
    [("get", "GET"), ("PATCH", "PATCH"), ("OPTIONS", "OPTIONS"), ("BREW", "OTHER"), ("", "OTHER")],
)
def test_methods_are_normalized(method: str, label: str) -> None:
    assert normalize_method(method) == label


def test_two_services_in_one_process_do_not_collide() -> None:
    # given two services created in the same process, each with its own registry
    shop = HttpMetrics("shop", process_collectors=False)
    auth = HttpMetrics("auth", process_collectors=False)
    # when
    shop.observe(method="GET", route="/x", status=200, duration_seconds=0.1)
    # then each exposes only its own requests
    labels = {"method": "GET", "route": "/x", "status": "200"}
    assert (
        shop.registry.get_sample_value("http_requests_total", {"service": "shop", **labels}) == 1.0
    )
    assert (
        auth.registry.get_sample_value("http_requests_total", {"service": "auth", **labels}) is None
    )
    assert b'service="shop"' not in auth.render()


def test_service_metrics_is_one_instance_per_service_name() -> None:
    assert service_metrics("core-test-a") is service_metrics("core-test-a")
    assert service_metrics("core-test-a") is not service_metrics("core-test-b")


def test_render_is_prometheus_text_with_service_collectors() -> None:
    # given a business counter registered next to the HTTP metrics
    metrics = HttpMetrics("shop")
    Counter("orders_placed_total", "Orders placed.", registry=metrics.registry).inc()
    metrics.observe(method="POST", route=UNMATCHED_ROUTE, status=404, duration_seconds=0.001)
    # when
    lines = metrics.render().decode().splitlines()
    # then
    assert METRICS_CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"
    assert "# TYPE http_requests_total counter" in lines
    assert (
        'http_requests_total{method="POST",route="<unmatched>",service="shop",status="404"} 1.0'
        in lines
    )
    assert "orders_placed_total 1.0" in lines
    assert "# TYPE process_cpu_seconds_total counter" in lines
    assert any(line.startswith("python_info{") for line in lines)
