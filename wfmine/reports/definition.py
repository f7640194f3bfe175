"""Report definitions: one TOML file per scheduled report, usually in ``<workspace>/reports/``.

.. code-block:: toml

    name = "weekly"                      # archive folder name: letters, digits, - and _
    title = "Acme delivery — weekly"     # optional, shown on the report
    design = "sample_logs/acme/design.yaml"   # optional; relative to the workspace root
    window = "90d"                       # "<n>h|d|w", "all", or a table {start = ..., end = ...}
    sections = ["all"]                   # or any of SECTIONS, in any order
    schedule = "0 7 * * 1"               # cron: minute hour day-of-month month day-of-week
    timezone = "UTC"                     # optional IANA zone the schedule is read in
    output = "reports/out"               # archive root; relative to the workspace root
    retain = 26                          # optional: keep the newest 26 reports, prune older ones

Relative paths are read against the *workspace root*: the folder that holds
``reports/`` when the definition lives there, otherwise the definition's own
folder. Every error names the file and the key.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from wfmine.errors import ConfigError
from wfmine.reports.sections import SECTIONS
from wfmine.window import Window, parse_window

__all__ = [
    "ALL_SECTIONS",
    "ReportDefinition",
    "Window",
    "load_definition",
    "load_definitions",
    "parse_window",
    "select_sections",
]

#: Every section in report order (``"all"`` in a definition means these).
ALL_SECTIONS: Final = tuple(SECTIONS)
_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_KEYS: Final = frozenset(
    {"name", "title", "design", "window", "sections", "schedule", "timezone", "output",
     "case_notion", "max_cases", "top_variants", "retain"}
)  # fmt: skip


def select_sections(value: Any, where: str = "sections") -> tuple[str, ...]:
    """Validate a section list (``None``/``["all"]`` = every section), kept in report order."""
    if value is None or value == "all":
        return ALL_SECTIONS
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ConfigError(f"{where}: expected a list of section names, got {value!r}")
    names = [str(v) for v in value]
    if "all" in names:
        return ALL_SECTIONS
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        raise ConfigError(
            f"{where}: unknown section(s) {', '.join(repr(n) for n in unknown)}; "
            f"valid: all, {', '.join(SECTIONS)}"
        )
    return tuple(s for s in ALL_SECTIONS if s in names)


@dataclass(frozen=True)
class ReportDefinition:
    """One scheduled report, as read from its TOML file."""

    path: Path
    root: Path
    name: str
    title: str
    design: Path | None
    window: Window
    sections: tuple[str, ...]
    schedule: str
    timezone: str
    output: Path
    case_notion: str = "work_item"
    max_cases: int = 200
    top_variants: int = 20
    retain: int | None = None  # keep the newest N archived reports (None: keep all)

    @property
    def archive(self) -> Path:
        """The folder this report's dated files, index and ``last_run.json`` go to."""
        return self.output / self.name

    @property
    def tz(self) -> dt.tzinfo:
        """The zone the cron schedule is read in."""
        return dt.UTC if self.timezone.upper() == "UTC" else zoneinfo.ZoneInfo(self.timezone)


def _root_of(path: Path) -> Path:
    parent = path.resolve().parent
    return parent.parent if parent.name == "reports" else parent


def load_definition(path: str | Path, *, root: str | Path | None = None) -> ReportDefinition:
    """Read and validate one report definition; :class:`ConfigError` names the file and key."""
    from croniter import croniter

    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"{p}: cannot read the report definition: {exc.strerror or exc}"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    base = Path(root).resolve() if root is not None else _root_of(p)

    def where(key: str) -> str:
        return f"{p}: key '{key}'"

    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ConfigError(f"{p}: unknown key(s) {unknown}; known: {', '.join(sorted(_KEYS))}")
    name = data.get("name", p.stem)
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"{where('name')}: use letters, digits, '-', '_' or '.', got {name!r}")
    title = data.get("title", f"{name} report")
    if not isinstance(title, str):
        raise ConfigError(f"{where('title')}: expected text, got {title!r}")
    schedule = data.get("schedule")
    if not isinstance(schedule, str) or not schedule.strip():
        raise ConfigError(f'{where("schedule")}: required, a cron expression like "0 7 * * 1"')
    if len(schedule.split()) != 5 or not croniter.is_valid(schedule):
        raise ConfigError(
            f"{where('schedule')}: {schedule!r} is not a cron expression "
            "(five fields: minute hour day-of-month month day-of-week)"
        )
    tz = data.get("timezone", "UTC")
    if not isinstance(tz, str):
        raise ConfigError(f"{where('timezone')}: expected an IANA zone name, got {tz!r}")
    if tz.upper() != "UTC":
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{where('timezone')}: unknown time zone {tz!r}") from None
    design = data.get("design")
    design_path: Path | None = None
    if design is not None:
        if not isinstance(design, str) or not design:
            raise ConfigError(f"{where('design')}: expected a path, got {design!r}")
        design_path = (base / design).resolve()
        if not design_path.is_file():
            raise ConfigError(f"{where('design')}: no such file {design_path}")
    output = data.get("output", "reports/out")
    if not isinstance(output, str) or not output:
        raise ConfigError(f"{where('output')}: expected a folder path, got {output!r}")
    ints: dict[str, int] = {}
    for key, default in (("max_cases", 200), ("top_variants", 20)):
        v = data.get(key, default)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ConfigError(f"{where(key)}: expected a positive whole number, got {v!r}")
        ints[key] = v
    retain = data.get("retain")
    if retain is not None and (
        not isinstance(retain, int) or isinstance(retain, bool) or retain < 1
    ):
        raise ConfigError(
            f"{where('retain')}: expected how many reports to keep (1 or more), got {retain!r}"
        )
    notion = data.get("case_notion", "work_item")
    if not isinstance(notion, str):
        raise ConfigError(f"{where('case_notion')}: expected text, got {notion!r}")
    return ReportDefinition(
        path=p,
        root=base,
        name=name,
        title=title,
        design=design_path,
        window=parse_window(data.get("window", "90d"), where("window")),
        sections=select_sections(data.get("sections"), where("sections")),
        schedule=" ".join(schedule.split()),
        timezone=tz,
        output=(base / output).resolve(),
        case_notion=notion,
        max_cases=ints["max_cases"],
        top_variants=ints["top_variants"],
        retain=retain,
    )


def load_definitions(workspace_root: str | Path) -> list[ReportDefinition]:
    """Every ``reports/*.toml`` of a workspace, sorted by file name (errors name the file)."""
    folder = Path(workspace_root) / "reports"
    if not folder.is_dir():
        return []
    defs = [load_definition(p, root=workspace_root) for p in sorted(folder.glob("*.toml"))]
    seen: dict[str, Path] = {}
    for d in defs:
        if d.name in seen:
            raise ConfigError(f"{d.path}: key 'name': {d.name!r} is also used by {seen[d.name]}")
        seen[d.name] = d.path
    return defs
