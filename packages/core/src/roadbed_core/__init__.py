"""roadbed_core."""
