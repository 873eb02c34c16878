"""Test helpers shared by every Roadbed package (loaded as a pytest plugin)."""
