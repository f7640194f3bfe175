"""Slack export connector: real samples, bot detection, threads, robustness, idempotent ingest."""

from __future__ import annotations

import io
import json
import random
import zipfile
from pathlib import Path

import polars as pl
import pytest

import wfmine
from tests.conftest import REALDATA, need
from tests.connector_suite import check_connector
from wfmine.connectors import slack
from wfmine.errors import FormatError

TESTARCHIVE = REALDATA / "slack" / "slack-export-viewer" / "testarchive.zip"
SLACKDUMP = REALDATA / "slack" / "slackdump-export"


def _primary(batch: wfmine.model.Batch) -> pl.DataFrame:
    """One primary event per message: event ids without a derived-event suffix."""
    return batch.events.filter(pl.col("event_id").str.count_matches("/") == 1)


def test_testarchive_loads_every_message() -> None:
    batch = slack.load(need(TESTARCHIVE))
    assert batch.stats["messages"] == 158
    assert batch.quarantine.height == 0
    assert _primary(batch).height == 158
    assert batch.raw_records.filter(pl.col("record_type") == "message").height == 158
    acts = dict(batch.events.group_by("activity").len().iter_rows())
    assert acts["Bot message"] == 94
    assert acts["Channel joined"] == 8
    assert acts["Reaction added"] >= 1 and acts["Message edited"] == 1
    # GitHub notification bot: messages without a user are attributed to slack:<bot_id>, a bot
    bots = batch.accounts.filter(pl.col("account_id") == "slack:B0JL6RASU")
    assert bots.get_column("platform_kind").to_list() == ["bot"]
    bot_events = batch.events.filter(pl.col("activity") == "Bot message")
    assert set(bot_events.get_column("actor_id").str.starts_with("slack:B").to_list()) == {True}
    # a GitHub issue URL in a notification links the thread
    assert batch.object_links.filter(pl.col("to_object").str.starts_with("github:")).height >= 1
    batch.validate()


@pytest.mark.parametrize("form", ["export", "source_export.zip"])
def test_slackdump_threads_bots_and_deleted(form: str) -> None:
    batch = slack.load(need(SLACKDUMP / form))
    assert batch.stats["messages"] == 16 and batch.quarantine.height == 0
    ev = batch.events
    replies = ev.filter(pl.col("activity") == "Thread reply")
    assert replies.height == 4
    # a reply is an event on its root's thread object
    for attrs, obj in replies.select("attrs", "object_id").iter_rows():
        a = json.loads(attrs)
        assert obj == f"slack:{a['channel_id']}/{a['thread_ts']}"
    assert (
        batch.objects.filter(pl.col("object_id") == "slack:CO69735E8A/1736478630.905399").height
        == 1
    )
    kinds = dict(batch.accounts.select("account_id", "platform_kind").iter_rows())
    assert kinds["slack:UO0EC43A4792"] == "bot"  # is_bot + profile.bot_id
    assert kinds["slack:UOF82F39AE"] == "human"
    attrs = json.loads(
        batch.accounts.filter(pl.col("account_id") == "slack:UO83069134")["attrs"][0]
    )
    assert (
        attrs["deleted"] is True and attrs["api_app_id"] == "A2RPP3NFR" and attrs["is_bot"] is True
    )
    bot = ev.filter(pl.col("activity") == "Bot message")
    assert json.loads(bot["attrs"][0])["bot_profile_app_id"] == "AOD47AE6B5"
    tomb = ev.filter(pl.col("attrs").str.contains('"subtype":"tombstone"'))
    assert tomb.height == 1 and json.loads(tomb["attrs"][0])["deleted"] is True
    assert ev.filter(pl.col("activity") == "File shared").height == 2
    edited = ev.filter(pl.col("activity") == "Message edited")
    assert edited["event_id"][0].endswith("/edited/1737160371.000000")


def test_text_not_stored_by_default(tmp_path: Path) -> None:
    batch = slack.load(need(SLACKDUMP / "export"))
    payloads = batch.raw_records.filter(pl.col("record_type") == "message")["payload"].to_list()
    assert all('"text"' not in p for p in payloads)
    assert any('"text_sha256"' in p for p in payloads)
    kept = slack.load(SLACKDUMP / "export", {"store_text": True})
    assert any('"text"' in p for p in kept.raw_records["payload"].to_list())


def _export(
    tmp: Path, day_files: dict[str, object], *, extra: dict[str, bytes] | None = None
) -> Path:
    root = tmp / "export"
    (root / "general").mkdir(parents=True)
    (root / "channels.json").write_text(json.dumps([{"id": "C1", "name": "general"}]))
    (root / "users.json").write_text(
        json.dumps(
            [
                {
                    "id": "U1",
                    "name": "dana",
                    "is_bot": False,
                    "profile": {"real_name": "Dana Reyes", "email": "dana@acme.example"},
                },
                {
                    "id": "U2",
                    "name": "ci",
                    "is_bot": True,
                    "profile": {"bot_id": "B9", "api_app_id": "A9"},
                },
            ]
        )
    )
    for name, content in day_files.items():
        data = content if isinstance(content, bytes) else json.dumps(content).encode()
        (root / "general" / name).write_bytes(data)
    for name, data in (extra or {}).items():
        (root / name).write_bytes(data)
    return root


MESSAGES = [
    {
        "type": "message",
        "user": "U1",
        "text": "Looking at ACME-12 now, see https://github.com/acme/api/pull/41",
        "ts": "1712345678.000100",
        "thread_ts": "1712345678.000100",
        "reply_count": 1,
        "reactions": [{"name": "eyes", "users": ["U2", "U1"], "count": 2}],
    },
    {
        "type": "message",
        "user": "U2",
        "text": "build green",
        "ts": "1712345700.000200",
        "thread_ts": "1712345678.000100",
        "bot_id": "B9",
    },
    {
        "type": "message",
        "user": "U1",
        "text": "plain",
        "ts": "1712345800.000300",
        "edited": {"user": "U1", "ts": "1712345900.000000"},
    },
]


def test_links_teams_and_ids(tmp_path: Path) -> None:
    root = _export(tmp_path, {"2024-04-05.json": MESSAGES})
    batch = slack.load(root, {"channel_teams": {"general": "engineering"}})
    links = {(r[1], r[2]) for r in batch.object_links.iter_rows()}
    assert ("jira:ACME-12", "mentions") in links
    assert ("github:acme/api#pr/41", "url") in links
    assert set(batch.events["team"].to_list()) == {"engineering"}
    ids = set(batch.events["event_id"].to_list())
    assert "slack:C1/1712345678.000100" in ids
    assert "slack:C1/1712345678.000100/reaction/eyes/U2" in ids
    assert "slack:C1/1712345800.000300/edited/1712345900.000000" in ids
    reply = batch.events.filter(pl.col("event_id") == "slack:C1/1712345700.000200")
    assert (
        reply["activity"][0] == "Bot message"
        and reply["object_id"][0] == "slack:C1/1712345678.000100"
    )
    react = json.loads(batch.events.filter(pl.col("activity") == "Reaction added")["attrs"][0])
    assert react["timestamp_source"] == "message_ts"


def test_bad_day_file_and_missing_ts_are_quarantined(tmp_path: Path) -> None:
    root = _export(
        tmp_path,
        {
            "2024-04-05.json": [*MESSAGES, {"type": "message", "user": "U1", "text": "no ts"}],
            "2024-04-06.json": b"{not json",
        },
    )
    batch = slack.load(root)
    reasons = batch.quarantine.select("record_ref", "reason").rows()
    assert any("2024-04-06.json" in ref and "not JSON" in why for ref, why in reasons)
    assert any(ref.endswith("2024-04-05.json#3") and "without ts" in why for ref, why in reasons)
    assert batch.stats["messages"] == 3


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zip_slip_is_refused_and_never_extracted(tmp_path: Path) -> None:
    day = json.dumps(MESSAGES).encode()
    data = _zip(
        {
            "channels.json": json.dumps([{"id": "C1", "name": "general"}]).encode(),
            "users.json": b"[]",
            "general/2024-04-05.json": day,
            "../evil/2024-04-05.json": day,
            "/abs/2024-04-05.json": day,
        }
    )
    path = tmp_path / "export.zip"
    path.write_bytes(data)
    batch = slack.load(path)
    refused = [r for r in batch.quarantine["reason"].to_list() if r.startswith("refused")]
    assert len(refused) == 2
    assert batch.stats["messages"] == 3
    assert not (tmp_path.parent / "evil").exists()
    assert slack.sniff(path)


def test_truncated_zip_raises_format_error(tmp_path: Path) -> None:
    data = need(TESTARCHIVE).read_bytes()
    path = tmp_path / "cut.zip"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match=r"cut\.zip"):
        slack.load(path)
    corrupt = bytearray(data)
    corrupt[200:260] = b"\x00" * 60  # inside the first member's compressed data
    path.write_bytes(bytes(corrupt))
    with pytest.raises(FormatError, match=r"cut\.zip"):
        slack.load(path)


def test_not_an_export(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(FormatError, match="not a Slack export"):
        slack.load(tmp_path)
    assert not slack.sniff(tmp_path)
    assert slack.sniff(need(TESTARCHIVE)) and slack.sniff(SLACKDUMP / "export")


def test_idempotent_ingest_and_failed_run_leaves_store_unchanged(tmp_path: Path) -> None:
    store = wfmine.open(tmp_path / "s.duckdb")
    batch = slack.load(need(TESTARCHIVE))
    first = store.ingest(batch)
    assert first["added"]["events"] == batch.events.height
    before = store.counts()
    again = store.ingest(slack.load(TESTARCHIVE))
    assert sum(again["added"].values()) == 0
    assert {k: v for k, v in store.counts().items() if k != "ingest_runs"} == {
        k: v for k, v in before.items() if k != "ingest_runs"
    }
    broken = slack.load(SLACKDUMP / "export")
    broken.events = broken.events.with_columns(pl.lit(None, dtype=pl.Int32).alias("seq"))
    with pytest.raises(ValueError):
        store.ingest(broken)
    assert store.counts() == {**before, "ingest_runs": before["ingest_runs"] + 1}


def test_deterministic_under_shuffled_messages(tmp_path: Path) -> None:
    shuffled = list(MESSAGES)
    random.Random(3).shuffle(shuffled)
    a = slack.load(_export(tmp_path / "a", {"2024-04-05.json": MESSAGES}))
    b = slack.load(_export(tmp_path / "b", {"2024-04-05.json": shuffled}))
    for name in ("events", "objects", "object_links", "accounts"):
        assert a.tables()[name].equals(b.tables()[name]), name


def test_shared_connector_suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:

    bad = _export(tmp_path / "bad", {"2024-04-05.json": MESSAGES, "2024-04-06.json": b"{oops"})
    for path in (need(TESTARCHIVE), SLACKDUMP / "export"):
        check_connector(
            slack.load, path, tmp_path=tmp_path / path.name, monkeypatch=monkeypatch, bad_path=bad
        )


def test_mentions_fold_thread_into_issue_case(tmp_path: Path) -> None:
    store = wfmine.open(":memory:")
    store.ingest(slack.load(_export(tmp_path, {"2024-04-05.json": MESSAGES})))
    store.ingest(wfmine.model.Batch.from_rows(
        "jira", objects=[{"object_id": "jira:ACME-12", "object_type": "issue", "source": "jira", "key": "ACME-12"}]
    ))  # fmt: skip
    cases = dict(store.case_map().iter_rows())
    assert cases["slack:C1/1712345678.000100"] == "jira:ACME-12"
    log = store.log()
    assert (
        log.filter(pl.col("case_id") == "jira:ACME-12").height == 4
    )  # root, bot reply, 2 reactions
