"""The Spark session, reading the lake, and moving small results to polars."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from wfmine.errors import ConfigError
from wfmine.lake import check_lake, kinds_files
from wfmine.model import KIND_SCHEMA, LOG_SCHEMA

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "DEFAULT_MASTER",
    "check_lake",
    "check_master",
    "kinds_from_parquet",
    "log_from_parquet",
    "require_java",
    "require_pyspark",
    "session",
    "to_polars",
]

#: the master used when neither the caller nor the environment names one
DEFAULT_MASTER: Final = "local[2]"
_NEED: Final = "the Spark engine needs the spark extra: pip install 'wfmine[spark]'"
_NO_JAVA: Final = "the Spark engine needs Java 17+: no `java` on PATH and no JAVA_HOME"
#: master URLs Spark accepts (https://spark.apache.org/docs/latest/submitting-applications.html)
_MASTER: Final = re.compile(
    r"local(\[(\d+|\*)(,\s*\d+)?\])?|local-cluster\[\d+,\s*\d+,\s*\d+\]"
    r"|spark://[^\s/]+(:\d+)?(,[^\s/]+(:\d+)?)*|yarn|k8s://\S+|connect://\S+"
)

# the flat log's columns as Spark SQL types (partition columns last, as Spark reads them)
_SPARK_TYPES: Final = {
    pl.String(): "STRING",
    pl.Int64(): "BIGINT",
    pl.Datetime("us", "UTC"): "TIMESTAMP",
}


def require_pyspark() -> None:
    """Raise :class:`ConfigError` with the install hint when PySpark is missing."""
    if importlib.util.find_spec("pyspark") is None:  # the optional extra is not installed
        raise ConfigError(_NEED)


def check_master(master: str) -> str:
    """``master`` if Spark can parse it (``local[N]``, ``spark://HOST:PORT``, ``yarn``,
    ``k8s://URL``, ...), else a :class:`ConfigError` naming the forms (the CLI exits 2)."""
    if _MASTER.fullmatch(master.strip()) is None:
        raise ConfigError(
            f"unknown Spark master {master!r}: use local[N], spark://HOST:PORT, yarn or k8s://URL"
        )
    return master.strip()


def require_java() -> None:
    """Raise :class:`ConfigError` when there is no Java to start Spark's JVM with."""
    home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (home and Path(home, "bin", "java").exists()):
        raise ConfigError(_NO_JAVA)


def session(
    master: str | None = None,
    *,
    app_name: str = "wfmine",
    conf: dict[str, str] | None = None,
) -> SparkSession:
    """The active Spark session, or a new one on ``master``.

    ``master`` defaults to ``$SPARK_MASTER``, else ``local[2]``. A new
    session runs in UTC (``spark.sql.session.timeZone``), with the UI off
    and few shuffle partitions in local mode; ``conf`` overrides any of
    that. An active session (e.g. a notebook's or ``spark-submit``'s) is
    returned as it is.
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and master is None and not conf:
        return active
    chosen = check_master(master or os.environ.get("SPARK_MASTER") or DEFAULT_MASTER)
    if not chosen.startswith(("spark://", "yarn", "k8s://", "connect://")):
        require_java()  # local mode starts a JVM here (a cluster's driver may be remote)
    settings = {
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    if chosen.startswith("local"):
        settings["spark.sql.shuffle.partitions"] = "8"
        # the Python workers run wfmine's own kernels: they need this interpreter (its
        # packages), not whichever python3 comes first on PATH. PySpark reads the worker's
        # interpreter from the environment when the context starts
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    settings.update(conf or {})
    builder = SparkSession.builder.master(chosen).appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start or refused the settings: say so in one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ConfigError(f"Spark did not start on {chosen}: {first}") from exc
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _schema_ddl() -> str:
    cols = [f"`{name}` {_SPARK_TYPES[dtype]}" for name, dtype in LOG_SCHEMA.items()]
    return ", ".join([*cols, "`month` STRING"])


def log_from_parquet(folder: str | Path, spark: SparkSession | None = None) -> DataFrame:
    """The lake's flat log (``folder/events``, see :mod:`wfmine.lake`) as a Spark DataFrame.

    Columns are :data:`wfmine.model.LOG_SCHEMA` plus the partition column
    ``month``; ``source`` and ``month`` come from the partition directories
    (so a filter on them reads only those partitions).
    """
    require_pyspark()
    root = Path(folder)
    manifest = check_lake(root)
    spark = spark or session()
    events = root / "events"
    reader = spark.read.schema(_schema_ddl()).option("basePath", str(events))
    if not manifest["tables"]["events"]["partitions"]:
        return spark.createDataFrame([], _schema_ddl())
    return reader.parquet(str(events)).select(*LOG_SCHEMA.keys(), "month")


def kinds_from_parquet(folder: str | Path, spark: SparkSession | None = None) -> DataFrame | None:
    """The lake's ``kinds`` table (:data:`wfmine.model.KIND_SCHEMA`: per case its kind of work
    item, see :mod:`wfmine.lake`) as a Spark DataFrame, or ``None`` when no case has a kind --
    or when the lake was written before it had the table (a
    :class:`wfmine.lake.LakeWarning` says so: its stall limits are per stage and project only).
    """
    require_pyspark()
    files = kinds_files(folder)
    if not files:
        return None
    spark = spark or session()
    ddl = ", ".join(f"`{name}` {_SPARK_TYPES[dtype]}" for name, dtype in KIND_SCHEMA.items())
    return spark.read.schema(ddl).parquet(*(str(f) for f in files))


def to_polars(df: DataFrame, schema: dict[str, Any] | pl.Schema | None = None) -> pl.DataFrame:
    """Collect a (small, aggregated) Spark DataFrame into polars through Arrow.

    Timestamps come back as UTC-aware microseconds whatever the session's
    time zone; ``schema`` casts the result (and shapes an empty one).
    """
    table = df.toArrow()
    out = pl.from_arrow(table)
    assert isinstance(out, pl.DataFrame)
    fixes = [
        pl.col(name).dt.convert_time_zone("UTC")
        if dtype.time_zone is not None  # type: ignore[attr-defined]
        else pl.col(name).dt.replace_time_zone("UTC")
        for name, dtype in out.schema.items()
        if isinstance(dtype, pl.Datetime)
    ]
    if fixes:
        out = out.with_columns(fixes)
    if schema is not None:
        target = pl.Schema(schema)
        if out.height == 0 and out.width != len(target):
            return pl.DataFrame(schema=target)
        out = out.select(target.names()).cast(target)  # type: ignore[arg-type]
    return out
