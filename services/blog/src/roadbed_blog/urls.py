"""The blog's URL map (relative to its ``/blog`` mount)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, URLResolver, path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

from roadbed_blog.health import health
from roadbed_core.integrations.django import observability_urls

urlpatterns: list[URLPattern | URLResolver] = [
    *observability_urls(health=health),
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    path("docs", SpectacularSwaggerView.as_view(url_name="openapi"), name="docs"),
    path("admin/", admin.site.urls),
]

handler400 = "roadbed_core.integrations.django.handler400"
handler403 = "roadbed_core.integrations.django.handler403"
handler404 = "roadbed_core.integrations.django.handler404"
handler500 = "roadbed_core.integrations.django.handler500"
