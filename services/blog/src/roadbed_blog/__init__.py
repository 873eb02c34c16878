"""roadbed_blog."""
