"""``python -m roadbed``: the same as the ``roadbed`` command."""

from roadbed.cli import main

main()
