"""Connectors: read what a source system exports (or its live API) into a :class:`~wfmine.model.Batch`.

Every reader (here and in :mod:`wfmine.formats`) is an object satisfying
:class:`wfmine.connectors._base.Reader` — ``kind``, ``standard``,
``sniff(path) -> bool`` and ``load(path, options=None) -> Batch`` — so
``wfmine discover FOLDER`` can recognise inputs by content. They are listed
in :data:`wfmine.connectors.registry.READERS` by kind, in the order detection
tries them (folder-level formats first); :data:`KINDS` names them without
importing any reader.

Package layout: ``_base`` (the contract), ``_batch`` (the one batch builder
and quarantine rule), ``_http`` (retries, errors with status and
retry-after, the Link/token/offset paginators), ``_refs`` (references in
text), ``_safezip`` (zip or folder exports), ``config`` (``connectors/*.toml``),
``registry`` (kind -> reader), and one package per source, split along
its jobs: ``jira/`` and ``github/`` (``_files`` reading exports,
``_collect``/``_records``/``_output`` records into events, ``_live`` the API
pull), ``slack/`` (``_text``, ``_loader``) and ``email/`` (``_mime``, ``_loader``).
"""

from __future__ import annotations

from typing import Final

__all__ = ["KINDS"]

#: Every input kind, in the order detection tries them (folder-level formats first).
KINDS: Final = ("slack", "email", "jira", "github", "xes", "ocel", "csv", "parquet")
