"""Which reader reads which kind: every :class:`~wfmine.connectors._base.Reader`, by plain import.

mypy checks each entry of :data:`READERS` against the reader contract.
Readers keep heavy dependencies (httpx for live pulls, rustxes for XES)
inside the functions that need them, so this import stays light.

>>> from wfmine.connectors import KINDS
>>> tuple(READERS) == KINDS
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from wfmine.connectors import email, github, jira, slack
from wfmine.connectors._base import Reader
from wfmine.errors import InputError
from wfmine.formats import CSV_READER, OCEL_READER, PARQUET_READER, XES_READER

__all__ = ["READERS", "reader"]

_ORDERED: Final[tuple[Reader, ...]] = (
    slack.READER,
    email.READER,
    jira.READER,
    github.READER,
    XES_READER,
    OCEL_READER,
    CSV_READER,
    PARQUET_READER,
)

#: kind -> reader, in the order detection tries them (folder-level formats first)
READERS: Final[Mapping[str, Reader]] = {r.kind: r for r in _ORDERED}


def reader(kind: str) -> Reader:
    """The reader for ``kind`` (``jira``, ``github``, ``slack``, ``email``, ``xes`` …)."""
    try:
        return READERS[kind]
    except KeyError:
        raise InputError(f"unknown input kind {kind!r}; known: {', '.join(READERS)}") from None
