"""Email connector: real mbox/Maildir/notmuch samples, threading, bots, robustness."""

from __future__ import annotations

import json
import random
from pathlib import Path

import polars as pl
import pytest

import wfmine
from tests.conftest import REALDATA, need
from tests.connector_suite import check_connector
from wfmine.connectors import email as em
from wfmine.errors import FormatError

MAIL = REALDATA / "email"


def _thread_of(batch: wfmine.model.Batch) -> dict[str, str]:
    return {
        json.loads(a)["message_id"]: o
        for a, o in batch.events.select("attrs", "object_id").iter_rows()
    }


def test_lkml_maildir_without_new_and_tmp() -> None:
    batch = em.load(need(MAIL / "lkml" / "maildir"))
    assert batch.stats["records"] == 210
    assert batch.stats["messages"] == 176 and batch.stats["duplicates"] == 34
    assert batch.events.height == 176 and batch.quarantine.height == 0
    thread = _thread_of(batch)
    # every reply is in the same thread as the messages it references
    for payload in batch.raw_records["payload"].to_list():
        headers = {k.lower(): v for k, v in json.loads(payload)["headers"]}
        mid = em._own_msgid(headers.get("message-id"))
        for ref in em._msgids(headers.get("in-reply-to")) + em._msgids(headers.get("references")):
            if ref in thread:
                assert thread[ref] == thread[mid]
    # a thread's id is its root: the root's own event sits on it and is "Email sent"
    roots = batch.events.filter(
        pl.col("object_id") == "email:" + pl.col("attrs").str.json_path_match("$.message_id")
    )
    assert (
        roots.height
        == batch.objects.filter(pl.col("attrs").str.contains('"root_present":true')).height
    )
    assert set(roots["activity"].to_list()) <= {"Email sent", "Email forwarded"}
    # list mail is not a bot signal by itself
    assert set(batch.accounts["platform_kind"].to_list()) == {"unknown"}
    assert not batch.raw_records["payload"].str.contains('"body"').any()


def test_notmuch_threading_corpus() -> None:
    batch = em.load(need(MAIL / "notmuch" / "threading"))
    thread = _thread_of(batch)
    for mid in [
        "001-child@example.org",
        "001-fake-message-root@example.org",
        "001-grand-child@example.org",
        "001-grand-child2@example.org",
        "001-great-grand-child@example.org",
    ]:
        assert thread[mid] == "email:000-real-root@example.org"
    assert (
        thread["B01-child@example.org"]
        == thread["B01-grand-child@example.org"]
        == "email:B00-root@example.org"
    )
    assert batch.stats["threads"] == 3
    titles = dict(batch.objects.select("object_id", "title").iter_rows())
    assert titles["email:000-real-root@example.org"] == "root message"


def test_notmuch_broken_and_default_load() -> None:
    broken = em.load(need(MAIL / "notmuch" / "broken"))
    assert broken.stats["messages"] + broken.quarantine.height == 4
    thread = _thread_of(broken)
    assert (
        thread["mid-loop-12@example.org"] == thread["mid-loop-21@example.org"]
    )  # a reference loop
    cc = json.loads(
        broken.events.filter(pl.col("event_id") == "email:multiple-cc@example.org")["attrs"][0]
    )
    assert cc["cc"] == ["bob@example.org", "charles@example.org"]
    acts = dict(broken.events.select("event_id", "activity").iter_rows())
    assert (
        acts["email:1782193672-98446-mlmmj-36f22ff2@FreeBSD.org"] == "Email forwarded"
    )  # message/rfc822 part
    everything = em.load(MAIL / "notmuch")
    assert everything.stats["skipped_files"] == 3  # licence and notes files are not mail
    assert everything.stats["messages"] >= 60


def test_perceval_mboxes_never_crash() -> None:
    for path in sorted(need(MAIL / "perceval-mbox").glob("*.mbox")):
        batch = em.load(path)
        batch.validate()
        assert (
            batch.stats["messages"] + batch.stats["duplicates"] + batch.quarantine.height
            == batch.stats["records"]
        )
    unknown = em.load(MAIL / "perceval-mbox" / "mbox_unknown_encoding.mbox")
    acc = unknown.accounts.row(0, named=True)
    assert acc["account_id"] == "email:yuancong@example.com"
    no_fields = em.load(MAIL / "perceval-mbox" / "mbox_no_fields.mbox")
    assert no_fields.stats["records"] == 6 and no_fields.stats["duplicates"] == 1
    assert all("Date" in r for r in no_fields.quarantine["reason"].to_list())
    assert em.load(MAIL / "perceval-mbox" / "mbox_unixfrom_encoding.mbox").events.height == 1


MBOX = b"""From dana@acme.example Mon Apr  1 10:00:00 2024
From: Dana Reyes <Dana@Acme.example>
To: Ops <ops@acme.example>
Subject: [acme-dev] ACME-12 login fails
Message-ID: <root@acme.example>
Date: Mon, 01 Apr 2024 10:00:00 +0000

The login of ACME-12 fails, see https://acme.atlassian.net/browse/ACME-7
>From the logs it is the token.

From bob@acme.example Mon Apr  1 11:00:00 2024
From: Bob <bob@acme.example>
Subject: Re: [acme-dev] ACME-12 login fails
Message-ID: <reply@acme.example>
In-Reply-To: <root@acme.example>
References: <root@acme.example>
Date: Mon, 01 Apr 2024 11:00:00 +0000

Fixed in https://github.com/acme/api/pull/41

From jira@acme.example Mon Apr  1 12:00:00 2024
From: Jira <no-reply@acme.example>
Subject: AW: ACME-12 login fails
Message-ID: <auto@acme.example>
Auto-Submitted: auto-generated
Precedence: bulk
Date: Mon, 01 Apr 2024 12:00:00 +0000
Content-Type: text/plain; charset=x-unknown-charset

caf\xe9

From carol@acme.example Mon Apr  1 13:00:00 2024
From: Carol <carol@acme.example>
Subject: Fwd: ACME-12 login fails
Message-ID: <fwd@acme.example>
Received: from x by y; Mon, 01 Apr 2024 13:00:05 +0000

---------- Forwarded message ---------
see above

From carol@acme.example Mon Apr  1 14:00:00 2024
From: Carol <carol@acme.example>
Subject: no date here
Message-ID: <nodate@acme.example>

body
"""


def test_threading_links_bots_and_quarantine(tmp_path: Path) -> None:
    path = tmp_path / "acme.mbox"
    path.write_bytes(MBOX)
    batch = em.load(path)
    assert batch.stats["records"] == 5 and batch.stats["messages"] == 4
    reasons = batch.quarantine.select("record_ref", "reason").rows()
    assert (
        len(reasons) == 1
        and "no Date header" in reasons[0][1]
        and reasons[0][0].endswith("acme.mbox:41")
    )
    thread = _thread_of(batch)
    assert thread["reply@acme.example"] == thread["auto@acme.example"] == "email:root@acme.example"
    assert (
        thread["fwd@acme.example"] == "email:fwd@acme.example"
    )  # Fwd: without references starts a thread
    acts = dict(batch.events.select("event_id", "activity").iter_rows())
    assert acts == {
        "email:root@acme.example": "Email sent",
        "email:reply@acme.example": "Email replied",
        "email:auto@acme.example": "Email replied",
        "email:fwd@acme.example": "Email forwarded",
    }
    fwd = json.loads(
        batch.events.filter(pl.col("event_id") == "email:fwd@acme.example")["attrs"][0]
    )
    assert fwd["timestamp_source"] == "received"
    links = {(a, b, r) for a, b, r, _ in batch.object_links.iter_rows()}
    assert ("email:root@acme.example", "jira:ACME-12", "title") in links
    assert ("email:root@acme.example", "jira:ACME-7", "mentions") in links
    assert ("email:root@acme.example", "github:acme/api#pr/41", "mentions") in links
    kinds = dict(batch.accounts.select("account_id", "platform_kind").iter_rows())
    assert (
        kinds["email:no-reply@acme.example"] == "bot"
        and kinds["email:dana@acme.example"] == "unknown"
    )
    titles = dict(batch.objects.select("object_id", "title").iter_rows())
    assert titles["email:root@acme.example"] == "ACME-12 login fails"
    payloads = batch.raw_records["payload"].to_list()
    assert not any("token" in p for p in payloads)
    assert any(
        "token" in p for p in em.load(path, {"store_bodies": True}).raw_records["payload"].to_list()
    )


def test_eml_folder_dedup_and_shuffle(tmp_path: Path) -> None:
    chunks = [c for _, _, c in em.split_mbox(MBOX)]
    for i, c in enumerate(chunks):
        (tmp_path / "a" / f"{i}.eml").parent.mkdir(exist_ok=True)
        (tmp_path / "a" / f"{i}.eml").write_bytes(c)
    (tmp_path / "a" / "copy.eml").write_bytes(chunks[1])
    order = list(range(len(chunks)))
    random.Random(5).shuffle(order)
    (tmp_path / "b" / "cur").mkdir(parents=True)
    for rank, i in enumerate(order):
        (tmp_path / "b" / "cur" / f"{rank}:2,S").write_bytes(chunks[i])
    a, b = em.load(tmp_path / "a"), em.load(tmp_path / "b")
    assert a.stats["duplicates"] == 1 and b.stats["duplicates"] == 0
    assert a.events.drop("attrs").equals(b.events.drop("attrs"))  # attrs count the duplicate
    for name in ("objects", "object_links", "accounts"):
        assert a.tables()[name].equals(b.tables()[name]), name
    shuffled = tmp_path / "shuffled.mbox"
    shuffled.write_bytes(
        b"\n".join(chunks[i].join([b"From x@y Mon Apr  1 10:00:00 2024\n", b"\n"]) for i in order)
    )
    c = em.load(shuffled)
    assert c.events.drop("attrs").equals(a.events.drop("attrs"))


def test_not_mail_and_sniff(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("repo: x\ncommit: y\n")
    with pytest.raises(FormatError, match=r"notes\.txt"):
        em.load(junk)
    assert not em.sniff(junk)
    assert em.sniff(need(MAIL / "lkml" / "maildir")) and em.sniff(
        MAIL / "perceval-mbox" / "mbox_single.mbox"
    )


def test_idempotent_ingest(tmp_path: Path) -> None:
    store = wfmine.open(tmp_path / "s.duckdb")
    batch = em.load(need(MAIL / "lkml" / "maildir"))
    assert store.ingest(batch)["added"]["events"] == 176
    assert sum(store.ingest(em.load(MAIL / "lkml" / "maildir"))["added"].values()) == 0


def test_shared_connector_suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:

    bad = tmp_path / "bad.mbox"
    bad.write_bytes(MBOX)  # one message without any date
    for path in (need(MAIL / "lkml" / "maildir"), MAIL / "notmuch" / "threading"):
        check_connector(
            em.load, path, tmp_path=tmp_path / path.name, monkeypatch=monkeypatch, bad_path=bad
        )
