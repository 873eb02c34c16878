"""Login sessions and their rotating refresh-token families."""
