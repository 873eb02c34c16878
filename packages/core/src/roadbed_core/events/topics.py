"""AMQP topic patterns, matched the way RabbitMQ matches them.

The in-process bus has to route exactly like the topic exchange it stands in for, otherwise a
subscription that works embedded could silently miss events in production. Words are separated by
``.``; ``*`` matches exactly one word and ``#`` matches zero or more words.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z0-9_-]+")


def validate_pattern(pattern: str) -> str:
    """Return ``pattern`` unchanged, or raise ``ValueError`` when a word is empty or malformed.

    RabbitMQ would accept ``roadbed.auth*`` as the literal word ``auth*``; that is nearly always a
    typo for ``roadbed.auth.*``, so it is refused here.
    """
    for word in pattern.split("."):
        if word not in ("*", "#") and _WORD.fullmatch(word) is None:
            raise ValueError(
                f"invalid topic pattern {pattern!r}: each word must be '*', '#' or [A-Za-z0-9_-]+"
            )
    return pattern


def _skip_hashes(words: list[str], positions: set[int]) -> set[int]:
    """Close a set of pattern positions over ``#`` matching zero words."""
    closed = set(positions)
    pending = list(positions)
    while pending:
        position = pending.pop()
        if position < len(words) and words[position] == "#" and position + 1 not in closed:
            closed.add(position + 1)
            pending.append(position + 1)
    return closed


def topic_matches(pattern: str, routing_key: str) -> bool:
    """Whether a topic exchange binding ``pattern`` routes a message with ``routing_key``.

    A set-of-positions walk (an NFA) over the pattern words: linear in the key length, no
    backtracking blow-up on patterns such as ``#.#.#``.
    """
    pattern_words = pattern.split(".")
    positions = _skip_hashes(pattern_words, {0})
    for word in routing_key.split("."):
        advanced: set[int] = set()
        for position in positions:
            if position == len(pattern_words):
                continue
            expected = pattern_words[position]
            if expected == "#":
                advanced.add(position)  # '#' swallows this word and may swallow more
            elif expected in ("*", word):
                advanced.add(position + 1)
        positions = _skip_hashes(pattern_words, advanced)
        if not positions:
            return False
    return len(pattern_words) in positions
