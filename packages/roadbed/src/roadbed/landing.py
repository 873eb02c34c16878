"""The page at ``/``: one link per service's docs, health and metrics."""

from __future__ import annotations

from html import escape

from roadbed.services import MOUNTED

_DESCRIPTIONS = {
    "auth": "Identity: accounts, tokens, roles, OAuth2 / OpenID Connect provider (FastAPI)",
    "shop": "E-commerce: catalog, inventory, cart, checkout, payments, orders (FastAPI, REST + GraphQL)",
    "blog": "Blogging: the RealWorld Conduit API, publishing, search, feeds (Django + DRF)",
    "tasks": "Task management: projects, members, tasks, comments (Flask)",
}


def render_landing() -> str:
    rows = "\n".join(
        f'      <li><h2><a href="{escape(spec.prefix or "")}/docs">{escape(spec.name)}</a></h2>'
        f"<p>{escape(_DESCRIPTIONS.get(spec.name, ''))}</p>"
        f'<p><a href="{escape(spec.prefix or "")}/docs">API docs</a> · '
        f'<a href="{escape(spec.prefix or "")}/openapi.json">OpenAPI</a> · '
        f'<a href="{escape(spec.prefix or "")}/healthz">healthz</a> · '
        f'<a href="{escape(spec.prefix or "")}/readyz">readyz</a> · '
        f'<a href="{escape(spec.prefix or "")}/metrics">metrics</a></p></li>'
        for spec in MOUNTED
    )
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Roadbed</title>
    <style>
      body {{ font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }}
      ul {{ list-style: none; padding: 0; }} li {{ border-top: 1px solid #ddd; padding: .5rem 0; }}
      h2 {{ margin: .25rem 0; font-size: 1.25rem; }} p {{ margin: .25rem 0; }}
    </style>
  </head>
  <body>
    <main>
      <h1>Roadbed</h1>
      <p>The Python backend roadmap as one production system. Every service below runs in this process.</p>
      <ul>
{rows}
      </ul>
    </main>
  </body>
</html>
"""
