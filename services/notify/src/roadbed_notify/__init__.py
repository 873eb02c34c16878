"""roadbed_notify."""
