"""One mbox file with threaded mail (Message-ID, In-Reply-To, References)."""

from __future__ import annotations

import email.policy
from email.generator import BytesGenerator
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from io import BytesIO
from pathlib import Path

from wfmine.simulate._model import Mail, World
from wfmine.simulate._org import Actor
from wfmine.simulate._util import zone

_POLICY = email.policy.default.clone(linesep="\n", max_line_length=78)


def _addr(a: Actor) -> Address:
    assert a.email is not None
    user, _, domain = a.email.partition("@")
    return Address(display_name=a.name, username=user, domain=domain)


def _refs(m: Mail) -> list[str]:
    chain: list[str] = []
    p = m.parent
    while p is not None:
        chain.append(p.msgid)
        p = p.parent
    return list(reversed(chain))


def build(world: World, m: Mail) -> EmailMessage:
    org = world.org
    sender = org[m.sender]
    msg = EmailMessage(policy=_POLICY)
    msg["From"] = _addr(sender)
    msg["To"] = [_addr(org[x]) for x in m.to if org[x].email]
    if m.cc:
        msg["Cc"] = [_addr(org[x]) for x in m.cc if org[x].email]
    msg["Subject"] = m.subject
    tz = zone(sender.tz if sender.kind == "human" else "UTC")
    msg["Date"] = format_datetime(m.t.astimezone(tz))
    msg["Message-ID"] = m.msgid
    if m.parent is not None:
        msg["In-Reply-To"] = m.parent.msgid
        msg["References"] = " ".join(_refs(m))
    if m.auto:
        msg["Auto-Submitted"] = "auto-generated"
        msg["Precedence"] = "bulk"
    if m.list_id:
        msg["List-Id"] = m.list_id
        msg["X-GitHub-Reason"] = "author"
    msg["MIME-Version"] = "1.0"
    msg.set_content(m.body)
    return msg


def write(world: World, out: Path) -> list[Path]:
    path = out / "email" / "acme.mbox"
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = BytesIO()
    for m in sorted((m for m in world.mails if m.t <= world.end), key=lambda m: (m.t, m.msgid)):
        sender = world.org[m.sender]
        buf.write(f"From {sender.email} {m.t:%a %b} {m.t.day:2d} {m.t:%H:%M:%S %Y}\n".encode())
        BytesGenerator(buf, mangle_from_=True, policy=_POLICY).flatten(build(world, m))
        buf.write(b"\n")
    path.write_bytes(buf.getvalue())
    return [path]
