"""Batch benchmark (`make bench-batch`; `make bench` runs it at 1 M rows only).

    .venv/bin/python benchmarks/bench_batch.py --rows 1000000 10000000

For each size, on a generated OMOP drug_exposure table (benchmarks/gen_exposures.py: skewed
drugs, US/UK product strings, typos, sigs, bad rows, many persons) it measures, each job in
its own process so peak memory (max RSS) is that job's alone:

* ``duckdb``: `immunomod batch classify` (DuckDB engine) end to end: read, distinct texts
  resolved once, join, row-level fields, write Parquet;
* ``floor``: one DuckDB join of the same table against a lookup table precomputed for every
  distinct text (the least any approach can do: read, join, write), goal: duckdb <= 1.5x it;
  both are run ``--repeat`` times (default 3, alternating, classify in a fresh process each
  time) and the fastest run counts, because this shared machine's speed drifts by 10-20 %
  from one run to the next (every run's time is kept in the results);
* ``pandas``: a plain pandas row-by-row ``apply`` of the same resolver (uncached), on the
  first ``--pandas-rows`` rows (default 200,000; the per-row cost is flat, so rows/s carries),
  goal: duckdb >= 20x its rows/s;
* ``spark``: the Spark engine (local[*]) on the same table, and at ``--compare-rows`` (1 M)
  both engines' classify *and* episodes outputs compared row for row;
* ``episodes``: `immunomod batch episodes` (DuckDB engine).

Writes benchmarks/results/batch.json and prints a Markdown table for the README.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "batch.json"
sys.path.insert(0, str(HERE))


# Appended to every job: its own peak RSS. (getrusage's ru_maxrss is no good here: Linux
# carries it over from the parent across fork and exec, and the parent holds the generator.)
_PEAK = """
import atexit, json as _json
def _peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            print(_json.dumps({"max_rss_mb": round(int(line.split()[1]) / 1024, 1)}))
atexit.register(_peak)
"""


def job(code: str) -> dict[str, Any]:
    """Run ``code`` in a fresh Python; it prints one JSON object. Adds seconds and the
    process's peak RSS (VmHWM; Spark's JVM and the resolver's worker processes not included)."""
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        program = _PEAK + textwrap.dedent(code)
        proc = subprocess.run([sys.executable, "-c", program], stdout=out, check=False)
        seconds = time.perf_counter() - start
        if proc.returncode:
            raise SystemExit(f"benchmark job failed ({proc.returncode}):\n{code}")
        out.seek(0)
        result: dict[str, Any] = {}
        for line in out.read().strip().splitlines():
            if line.startswith("{"):
                result.update(json.loads(line))
    result.setdefault("seconds", round(seconds, 2))
    return result


def classify_duckdb(src: Path, out: Path, concepts: Path) -> dict[str, Any]:
    return job(f"""
        import json, time
        from immunomod.batch.classify import classify
        t = time.perf_counter()
        s = classify({str(src)!r}, {str(out)!r}, concepts={str(concepts)!r})
        print(json.dumps({{"seconds": round(time.perf_counter() - t, 2), "rows": s.rows,
                          "distinct_texts": s.distinct_texts, "error_rows": s.error_rows,
                          "immunomodulator_rows": s.immunomodulator_rows}}))
    """)


def floor(src: Path, out: Path, concepts: Path, tmp: Path) -> dict[str, Any]:
    """Precompute the lookup (not timed), then time one join + write."""
    lookup = tmp / "lookup.parquet"
    return job(f"""
        import json, time, duckdb
        from immunomod.batch.classify import prepare
        from immunomod.batch.query import DUCKDB, PAIRS_SQL, key_sql
        from pathlib import Path
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        cols = prepare(con, Path({str(src)!r}), {str(concepts)!r}, None)
        # The complete answer for every distinct (name, dosing text) (the lookup table holds
        # one row per name for names that read no dosing text: see classify._resolve_chunk).
        con.execute(f"COPY ({{PAIRS_SQL}}) TO '{lookup}' (FORMAT parquet)")
        frm, name, extra, _ = key_sql(cols, DUCKDB)
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        con.execute("CREATE VIEW src AS SELECT * FROM read_parquet({str(src)!r})")
        con.execute("CREATE TABLE concept AS SELECT CAST(concept_id AS VARCHAR) AS im_cid, "
                    "min(concept_name) AS im_cname FROM read_csv({str(concepts)!r}) GROUP BY 1")
        t = time.perf_counter()
        con.execute(f"COPY (SELECT s.*, l.* EXCLUDE (im_key, im_extra) FROM {{frm}} LEFT JOIN "
                    f"read_parquet('{lookup}') l ON {{name}} = l.im_key AND {{extra}} = l.im_extra)"
                    f" TO {str(out)!r} (FORMAT parquet)")
        seconds = round(time.perf_counter() - t, 2)
        hits = con.execute("SELECT count(*) FILTER (WHERE im_immunomodulator) "
                           "FROM read_parquet({str(out)!r})").fetchone()[0]
        print(json.dumps({{"seconds": seconds, "immunomodulator_rows": hits}}))
    """)


def pandas_apply(src: Path, rows: int, concepts: Path) -> dict[str, Any]:
    """The obvious approach: pandas, one resolver call per row on the row's whole text."""
    return job(f"""
        import json, time
        import duckdb
        from immunomod.names import resolve
        def answer(text):
            res = resolve(text)
            m = next((x for x in res.matches if x.immunomodulator), None)
            if m is None and res.matches:
                m = res.matches[0]
            if m is None:
                return (None, False, None, None, None, None, None)
            s = m.sig
            return (m.ingredient, m.immunomodulator, m.class_, m.type, m.status,
                    s.dose if s else None, s.amount_per_day if s else None)
        t = time.perf_counter()
        import pandas as pd
        df = duckdb.connect().execute(
            "SELECT * FROM read_parquet({str(src)!r}) LIMIT {rows}").df()
        concepts = pd.read_csv({str(concepts)!r}, dtype=str).drop_duplicates("concept_id")
        names = dict(zip(concepts.concept_id, concepts.concept_name))
        def row_text(r):
            name = names.get(str(r.drug_concept_id)) or r.drug_source_value
            parts = [p for p in (name, r.sig, r.route_source_value) if isinstance(p, str) and p]
            return " ".join(parts) if isinstance(name, str) and name.strip() else None
        out = df.apply(lambda r: answer(t) if (t := row_text(r)) else (None,) * 7, axis=1)
        cols = ["ingredient", "immunomodulator", "class", "type", "status", "dose", "per_day"]
        df = df.join(pd.DataFrame(list(out), columns=["im_" + c for c in cols], index=df.index))
        df.to_parquet("/dev/null")
        s = time.perf_counter() - t
        print(json.dumps({{"seconds": round(s, 2), "rows": len(df)}}))
    """)


def spark_job(kind: str, src: Path, out: Path, concepts: Path) -> dict[str, Any]:
    return job(f"""
        import json, time
        from immunomod.batch import spark
        session = spark.session()  # JVM start-up is reported apart from the job itself
        t = time.perf_counter()
        s = spark.{kind}({str(src)!r}, {str(out)!r}, concepts={str(concepts)!r})
        print(json.dumps({{"seconds": round(time.perf_counter() - t, 2)}}))
    """)


def episodes_duckdb(src: Path, out: Path, concepts: Path) -> dict[str, Any]:
    return job(f"""
        import json, time
        from immunomod.batch.classify import episodes
        t = time.perf_counter()
        s = episodes({str(src)!r}, {str(out)!r}, concepts={str(concepts)!r})
        print(json.dumps({{"seconds": round(time.perf_counter() - t, 2), "persons": s.persons,
                          "episodes": s.episodes, "levels": s.levels,
                          "rows_used": s.rows_used}}))
    """)


def identical(a: Path, b: Path) -> bool:
    import duckdb

    con = duckdb.connect()
    ra, rb = f"read_parquet('{a}')", f"read_parquet('{b}')"
    same_schema = (
        con.execute(f"DESCRIBE SELECT * FROM {ra}").fetchall()
        == con.execute(f"DESCRIBE SELECT * FROM {rb}").fetchall()
    )
    diff = con.execute(
        f"SELECT (SELECT count(*) FROM (SELECT * FROM {ra} EXCEPT ALL SELECT * FROM {rb})) + "
        f"(SELECT count(*) FROM (SELECT * FROM {rb} EXCEPT ALL SELECT * FROM {ra}))"
    ).fetchone()
    return same_schema and diff is not None and diff[0] == 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--pandas-rows", type=int, default=200_000)
    ap.add_argument("--compare-rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of classify and floor")
    ap.add_argument("--no-spark", action="store_true")
    ap.add_argument("--no-pandas", action="store_true")
    ap.add_argument("--no-episodes", action="store_true")
    ap.add_argument("--merge", action="store_true", help="keep other sizes already in the results")
    args = ap.parse_args()
    from gen_exposures import generate

    results: dict[str, Any] = {"sizes": {}}
    if args.merge and RESULTS.exists():
        results["sizes"] = json.loads(RESULTS.read_text()).get("sizes", {})
    with tempfile.TemporaryDirectory(dir=os.environ.get("IMMUNOMOD_BENCH_TMP")) as t:
        tmp = Path(t)
        for rows in args.rows:
            src, concepts = tmp / f"de_{rows}.parquet", tmp / f"concept_{rows}.csv"
            started = time.perf_counter()
            gen = generate(rows, src, concepts=concepts)
            r: dict[str, Any] = {"generate_s": round(time.perf_counter() - started, 2)}
            r["generated"] = {k: v for k, v in gen.items() if not isinstance(v, dict | list)}
            print(f"{rows:,} rows generated in {r['generate_s']} s", flush=True)
            runs: dict[str, list[dict[str, Any]]] = {"duckdb": [], "floor": []}
            for _ in range(max(1, args.repeat)):  # alternating, so drift hits both alike
                runs["duckdb"].append(classify_duckdb(src, tmp / "duck.parquet", concepts))
                runs["floor"].append(floor(src, tmp / "floor.parquet", concepts, tmp))
            for name, done in runs.items():
                r[name] = min(done, key=lambda x: x["seconds"])
                r[name]["runs_s"] = [x["seconds"] for x in done]
            if r["floor"]["immunomodulator_rows"] != r["duckdb"]["immunomodulator_rows"]:
                raise SystemExit("the floor's output differs from classify's: fix the floor")
            if not args.no_episodes:
                r["episodes"] = episodes_duckdb(src, tmp / "episodes_duck.parquet", concepts)
            if rows == args.rows[0] and not args.no_pandas:
                r["pandas"] = pandas_apply(src, min(rows, args.pandas_rows), concepts)
            if not args.no_spark:
                r["spark"] = spark_job("classify", src, tmp / "spark.parquet", concepts)
                if rows == args.compare_rows:
                    r["spark_episodes"] = spark_job(
                        "episodes", src, tmp / "episodes_spark.parquet", concepts
                    )
                    r["identical"] = {
                        "classify": identical(tmp / "duck.parquet", tmp / "spark.parquet"),
                        "episodes": identical(
                            tmp / "episodes_duck.parquet", tmp / "episodes_spark.parquet"
                        ),
                    }
            for name in ("duckdb", "floor", "episodes", "spark", "spark_episodes"):
                if name in r:
                    r[name]["rows_per_s"] = round(rows / max(r[name]["seconds"], 1e-9))
            if "pandas" in r:
                p = r["pandas"]
                p["rows_per_s"] = round(p["rows"] / max(p["seconds"], 1e-9))
                r["duckdb_vs_pandas"] = round(r["duckdb"]["rows_per_s"] / p["rows_per_s"], 1)
            r["duckdb_vs_floor"] = round(r["duckdb"]["seconds"] / r["floor"]["seconds"], 2)
            results["sizes"][str(rows)] = r
            print(json.dumps(r, indent=1), flush=True)
            for f in tmp.glob("*.parquet"):
                if f.is_file() and f != src:
                    f.unlink()
            src.unlink()
    sizes = sorted(results["sizes"], key=int)
    if len(sizes) > 1:
        a, b = results["sizes"][sizes[0]], results["sizes"][sizes[-1]]
        results["growth"] = {
            name: round(b[name]["seconds"] / a[name]["seconds"], 2)
            for name in ("duckdb", "floor", "episodes", "spark")
            if name in a and name in b
        }
        results["growth"]["rows"] = int(sizes[-1]) / int(sizes[0])
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print("| rows | job | seconds | rows/s | max RSS MB |")
    print("|---|---|---|---|---|")
    for rows in sizes:
        r = results["sizes"][rows]
        for name in ("duckdb", "floor", "pandas", "episodes", "spark", "spark_episodes"):
            if name in r:
                x = r[name]
                print(f"| {int(rows):,} | {name} | {x['seconds']} | {x['rows_per_s']:,} | "
                      f"{x['max_rss_mb']} |")  # fmt: skip


if __name__ == "__main__":
    main()
