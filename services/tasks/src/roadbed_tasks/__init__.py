"""roadbed_tasks."""
