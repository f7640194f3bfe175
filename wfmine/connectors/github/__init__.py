"""GitHub: REST JSON (files or the live API) into a :class:`~wfmine.model.Batch`.

Records are recognised by *content*, never by file name, so a folder laid out
by API path (``repos/<o>/<r>/pulls.json``, ``pulls/<n>/reviews.json`` …),
plain arrays saved anywhere, ``gh api --paginate`` output (arrays
concatenated as ``][`` or NDJSON) and Events-API pages all load the same way:

=================  =====================================================
record             recognised by
=================  =====================================================
pull request       ``head`` + ``base``
review             ``state`` + ``pull_request_url`` (no ``diff_hunk``)
review comment     ``diff_hunk``
issue comment      ``issue_url`` + ``body``
issue event        ``event`` + ``actor``
commit             ``sha`` + ``commit``
check run / job    ``head_sha`` + ``conclusion`` (+ ``check_suite`` or ``run_id``)
workflow run       ``head_sha`` + ``workflow_id``
issue              ``number`` + ``title`` + ``repository_url``
repository event   ``type`` (``PullRequestEvent`` …) + ``payload``
=================  =====================================================

Owner and repository come from the URLs inside each record. The only thing
taken from a path is the PR number of ``pulls/<n>/commits.json`` (a commit
record does not name its PR). Event ids are built from the object and the
record's native id, or for state changes from the object and the moment
(``github:o/r#pr/7/closed@2024-01-02T03:04:05Z``), so the same change read
from a PR record, an issue event and a repository event is one event.

Layout: ``_files`` (recognising and reading files), ``_collect`` (one
handler per record kind), ``_output`` (the second pass and the batch),
``_live`` (the REST pull; it reads each run's jobs, so CI events get the same
ids as from a file export), ``_common`` (constants, :func:`classify`, helpers).
"""

from __future__ import annotations

from typing import Final

from wfmine.connectors._base import FunctionReader
from wfmine.connectors.github._common import classify, parse_trailers, read_documents
from wfmine.connectors.github._files import load, sniff
from wfmine.connectors.github._live import pull

__all__ = ["READER", "classify", "load", "parse_trailers", "pull", "read_documents", "sniff"]

#: The GitHub export reader (see :class:`wfmine.connectors._base.Reader`).
READER: Final = FunctionReader("github", sniff, load)
