"""``make bench``: run every benchmark and print its table (also written under bench/results/)."""

from bench import mounting

mounting.main()
