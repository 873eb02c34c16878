"""Service-level views of the blog: landing, health, metrics."""
