"""roadbed_auth."""
