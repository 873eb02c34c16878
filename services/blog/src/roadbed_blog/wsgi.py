"""WSGI entry of the blog: Django is served through WSGI only (its ASGI handler is ~12x slower here)."""

from __future__ import annotations

from django.core.handlers.wsgi import WSGIHandler

from roadbed_blog.lifecycle import setup_django

setup_django()

application = WSGIHandler()
