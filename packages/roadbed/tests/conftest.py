"""The composition tests share one embedded ``var/`` for the process (settings are read once)."""

from __future__ import annotations

import os
import tempfile

import pytest


def pytest_configure(config: pytest.Config) -> None:
    os.environ["ROADBED_VAR_DIR"] = tempfile.mkdtemp(prefix="roadbed-test-var-")
    os.environ.setdefault("ROADBED_ENV", "test")
