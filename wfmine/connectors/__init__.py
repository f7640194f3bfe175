"""Connectors: read what a source system exports (or its live API) into a :class:`~wfmine.model.Batch`.

Every reader module (here and in :mod:`wfmine.formats`) exposes the same two
functions, so ``wfmine discover FOLDER`` can recognise inputs by content:

- ``sniff(path: Path) -> bool`` — cheap content check: is this file or folder
  something this reader understands? Never raises on foreign input.
- ``load(path: Path, options: Mapping[str, Any] | None = None) -> Batch`` — read it.
  Bad records go to ``batch.quarantine`` with their reason; an unreadable
  file raises :class:`wfmine.errors.FormatError` naming the file and position.

:data:`READERS` lists them by kind, in the order detection tries them
(folder-level formats first).
"""

from __future__ import annotations

from typing import Final

__all__ = ["READERS"]

#: kind -> module implementing ``sniff`` and ``load``
READERS: Final[dict[str, str]] = {
    "slack": "wfmine.connectors.slack",
    "email": "wfmine.connectors.email",
    "jira": "wfmine.connectors.jira",
    "github": "wfmine.connectors.github",
    "xes": "wfmine.formats.xes",
    "ocel": "wfmine.formats.ocel",
    "csv": "wfmine.formats.tabular",
    "parquet": "wfmine.formats.tabular",
}
