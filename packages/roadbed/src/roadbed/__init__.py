"""roadbed."""
