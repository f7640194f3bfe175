"""Jira: REST JSON exports, CSV exports and the live REST API into a :class:`~wfmine.model.Batch`.

Inputs recognised by content (file names do not matter):

- search pages: the current ``/rest/api/3/search/jql`` shape (``issues``,
  ``nextPageToken``, ``isLast``), the removed ``/search`` shape (``startAt``,
  ``maxResults``, ``total``) and agile board pages (the same envelope);
- single-issue JSON (``key`` + ``fields``);
- changelog pages (``/rest/api/3/issue/{id}/changelog``: ``values`` of
  histories), merged into their issue and de-duplicated by history id;
- comment pages (``comments``), merged into their issue by the issue id in
  each comment's ``self`` URL;
- a statuses list (``/rest/api/2/status``): status categories for ``reopen``;
- a users list (``/rest/api/2/user``): account rows with ``accountType``;
- Jira Cloud CSV exports (no history: a warning says so).

Events follow ``docs/contracts.md``: ``Issue created``, ``Status: <to>``
(attrs ``from``, ``to``, ``status_category``, ``reopen``), ``Assignee
changed``, ``Priority changed``, ``Labels changed``, ``Components changed``,
``Comment added``, ``Resolution set``. Jira records no transition into the
status an issue is created in, so where the whole changelog was read the
creation is followed by ``Status: <first status>`` at the same moment, by the
same person (``seq`` 1, attrs ``initial``, ``from`` null; id
``jira:ACME-12/created/status``): a design naming that status sees work
arrive there. A sub-task (``issuetype.subtask``, with ``fields.parent``) is an
object of type ``subtask`` linked ``part_of`` its parent, so it is folded into
the parent's case; its events are ``Sub-task created`` and ``Sub-task status:
<to>`` (never a reopen), so they never set or move the parent's stage. Event ids are built from the issue key
and the changelog history id (``jira:ACME-12/h/10023/status``), and ``seq``
from the history id and the item's position in it, so re-reading overlapping
pages, or the same pages in another order, gives the same rows.

Layout: ``_files`` (recognising and reading export files, CSV included),
``_collect`` (routing documents into issues), ``_records`` (issues and
changelogs into events, objects, accounts), ``_live`` (the REST pull),
``_common`` (constants and small helpers). A status change without
``toString`` is quarantined, never an invented ``Status: None``.

>>> from pathlib import Path
>>> batch = load(Path("/work/shared/realdata/jira/fiware"))  # doctest: +SKIP
>>> batch.objects.height  # doctest: +SKIP
3
"""

from __future__ import annotations

from typing import Final

from wfmine.connectors._base import FunctionReader
from wfmine.connectors.jira._common import SEARCH_PATH
from wfmine.connectors.jira._files import load, sniff
from wfmine.connectors.jira._live import incremental_jql, pull, since_clause

__all__ = ["READER", "SEARCH_PATH", "incremental_jql", "load", "pull", "since_clause", "sniff"]

#: The Jira export reader (see :class:`wfmine.connectors._base.Reader`).
READER: Final = FunctionReader("jira", sniff, load)
