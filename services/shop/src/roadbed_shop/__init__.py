"""roadbed_shop."""
