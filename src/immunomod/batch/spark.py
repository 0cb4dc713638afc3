"""The Spark engine: the same SQL and the same Python as the DuckDB engine, on Apache Spark.

    immunomod batch classify drug_exposure.parquet -o out.parquet --engine spark
    immunomod batch classify ... --engine spark --master spark://host:7077   # a cluster
    spark-submit --master yarn .venv/bin/immunomod batch classify IN -o OUT --engine spark

Distinct drug texts are resolved in parallel on the executors (``mapPartitions``; every executor
needs immunomod installed), broadcast, and joined; episodes group rows by person and run
:func:`immunomod.batch.episodes.person_episodes` on each group. Outputs are identical to
DuckDB's (a test checks it on every run of ``make test``; the benchmark on 1 M rows).

A single output file (``out.parquet``) is written through one task; for data that outgrow one
machine pass ``parts=True`` (CLI ``--parts``) to write a folder of part files instead, which
DuckDB and ``immunomod`` read back as one table.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from immunomod.batch.classify import (
    BatchInputError,
    ClassifyStats,
    EpisodeStats,
    Progress,
    _format,
    _output,
    check_episode_columns,
    check_grace,
    classify_stats,
    concept_path,
    skipped_sql,
    usable_sql,
)
from immunomod.batch.episodes import EPISODE_COLUMNS, GRACE_DAYS, person_episodes
from immunomod.batch.lookup import LOOKUP_COLUMNS, fields
from immunomod.batch.query import (
    SPARK,
    Columns,
    classified_sql,
    concept_view_sql,
    distinct_keys_sql,
    output_sql,
    raw_keys_sql,
    raw_lookup_sql,
    value_columns,
    value_table_sql,
)

_TYPES = {"STRING": "string", "DOUBLE": "double", "BOOLEAN": "boolean", "DATE": "date",
          "INTEGER": "int"}  # fmt: skip


def session(master: str | None = None) -> Any:
    """A SparkSession: ``master`` if given, else what spark-submit set, else ``local[*]``."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise BatchInputError(
            "the Spark engine needs PySpark: pip install 'immunomod[spark]' (and Java 17+)"
        ) from None
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise BatchInputError("the Spark engine needs Java 17 or newer on PATH (or JAVA_HOME)")
    # Executors must run the same Python as this process to import immunomod.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.appName("immunomod")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", str(sys.stderr.isatty()).lower())
        .config("spark.sql.shuffle.partitions", str(max(4, 2 * (os.cpu_count() or 2))))
    )
    if master:
        builder = builder.master(master)
    elif not os.environ.get("PYSPARK_GATEWAY_PORT"):  # set when spark-submit started us
        builder = builder.master(os.environ.get("IMMUNOMOD_SPARK_MASTER", "local[*]"))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def classify(
    input_path: str | Path,
    output_path: str | Path,
    text_column: str | None = None,
    concepts: str | Path | None = None,
    master: str | None = None,
    parts: bool = False,
    progress: Progress | None = None,
) -> ClassifyStats:
    """:func:`immunomod.batch.classify.classify` on Spark."""
    out = _output(output_path)
    spark = session(master)
    cols, distinct = _prepare(spark, Path(input_path), concepts, text_column, progress)
    _write(spark.sql(output_sql(cols, SPARK)), out, parts)
    return classify_stats(out, distinct=(distinct,))


def episodes(
    input_path: str | Path,
    output_path: str | Path,
    text_column: str | None = None,
    concepts: str | Path | None = None,
    person_column: str | None = None,
    grace_days: int = GRACE_DAYS,
    master: str | None = None,
    parts: bool = False,
    progress: Progress | None = None,
) -> EpisodeStats:
    """:func:`immunomod.batch.classify.episodes` on Spark."""
    from pyspark.sql.types import StructField, StructType

    check_grace(grace_days)
    out = _output(output_path)
    spark = session(master)
    cols, _ = _prepare(spark, Path(input_path), concepts, text_column, progress, person_column)
    check_episode_columns(cols)
    skipped = {str(r[0]): int(r[1]) for r in spark.sql(skipped_sql(cols, SPARK)).collect()}
    usable = spark.sql(usable_sql(cols, SPARK))

    def run(kv: tuple[str, Iterable[tuple[Any, ...]]]) -> list[tuple[Any, ...]]:
        # The same order as the DuckDB engine feeds rows: start, end, drug.
        rows = sorted(kv[1], key=lambda r: (r[6], r[7], r[0] or ""))
        return person_episodes(kv[0], rows, grace_days)

    pairs = usable.rdd.map(lambda r: (r[0], tuple(r[1:])))
    schema = StructType([StructField(c, _type(t), True) for c, t in EPISODE_COLUMNS.items()])
    eps = spark.createDataFrame(pairs.groupByKey().flatMap(run), schema)
    eps = eps.orderBy("person_id", "episode").cache()
    counts = {str(r[0]): int(r[1]) for r in eps.groupBy("level").count().collect()}
    persons = eps.select("person_id").distinct().count()
    _write(eps, out, parts)
    used = usable.count()
    eps.unpersist()
    return EpisodeStats(
        persons=persons, episodes=sum(counts.values()), levels=counts, rows_used=used,
        rows_skipped=skipped,
    )  # fmt: skip


def _prepare(
    spark: Any,
    src: Path,
    concepts: str | Path | None,
    text_column: str | None,
    progress: Progress | None,
    person_column: str | None = None,
) -> tuple[Columns, int]:
    from pyspark.sql.functions import broadcast
    from pyspark.sql.types import StructField, StructType

    if not src.exists():
        raise BatchInputError(f"input file not found: {src}")
    frame = _read(spark, src)
    frame.createOrReplaceTempView("src")
    cols = Columns.detect(frame.columns, text_column, person_column)
    cpath = concept_path(concepts, cols)
    if cpath is not None:
        _read(spark, cpath).createOrReplaceTempView("concept_src")
        spark.sql(concept_view_sql()).cache().createOrReplaceTempView("concept")
        cols.has_concepts = True
    spark.sql(raw_keys_sql(cols, SPARK)).cache().createOrReplaceTempView("rawkeys")
    keys = spark.sql(distinct_keys_sql(cols, SPARK))
    schema = StructType(
        [StructField("im_key", _type("STRING"), True), StructField("im_extra", _type("STRING"))]
        + [StructField(c, _type(t), True) for c, t in LOOKUP_COLUMNS.items()]
    )
    lookup = spark.createDataFrame(keys.rdd.mapPartitions(_resolve_partition), schema).cache()
    distinct = lookup.count()  # resolves every distinct text once, in parallel
    if progress is not None:
        progress("resolve", distinct, distinct)
    # The lookup is small (distinct texts), so every executor gets a copy instead of a shuffle.
    lookup.createOrReplaceTempView("lookup")
    broadcast(spark.sql(raw_lookup_sql(cols, SPARK)).cache()).createOrReplaceTempView("rawlookup")
    for role in value_columns(cols):
        values = spark.sql(value_table_sql(cols, SPARK, role)).cache()
        broadcast(values).createOrReplaceTempView(f"im_values_{role}")
    spark.sql(classified_sql(cols, SPARK)).createOrReplaceTempView("classified")
    return cols, distinct


def _resolve_partition(rows: Iterator[Any]) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        yield (row[0], row[1], *fields(row[0], row[1]))


def _type(name: str) -> Any:
    from pyspark.sql import types

    return {
        "string": types.StringType(), "double": types.DoubleType(),
        "boolean": types.BooleanType(), "date": types.DateType(), "int": types.IntegerType(),
    }[_TYPES[name]]  # fmt: skip


def _read(spark: Any, path: Path) -> Any:
    fmt = "parquet" if path.is_dir() else _format(path, "input")
    if fmt == "parquet":
        return spark.read.parquet(str(path))
    # Every column as text (like the DuckDB engine's all_varchar), RFC 4180 quoting.
    return spark.read.csv(
        str(path), header=True, inferSchema=False, sep="\t" if fmt == "tsv" else ",",
        quote='"', escape='"',
    )  # fmt: skip


def _write(frame: Any, out: Path, parts: bool) -> None:
    """Write through a temporary folder renamed at the end: never a partial output."""
    fmt = _format(out, "output")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    writer = (frame if parts else frame.coalesce(1)).write.mode("overwrite")
    try:
        if fmt == "parquet":
            writer.parquet(str(tmp))
        else:
            writer.csv(str(tmp), header=True, sep="\t" if fmt == "tsv" else ",", quote='"',
                       escape='"', emptyValue='""')  # fmt: skip
        if parts:
            if out.exists():
                shutil.rmtree(out) if out.is_dir() else out.unlink()
            os.replace(tmp, out)
            return
        (part,) = [p for p in tmp.iterdir() if p.name.startswith("part-")]
        os.replace(part, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


__all__ = ["classify", "episodes", "session"]
