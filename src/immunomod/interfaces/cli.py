"""The ``immunomod`` command line (typer + rich).

Exit codes: 0 success; 1 the knowledge-base sources have problems (``kb validate``/``build``);
2 the input cannot be answered (unknown drug or condition: the message has suggestions);
3 the compiled knowledge base is missing or unusable.

Heavy modules (rich, pydantic models, the store) are imported inside commands so that
``immunomod info`` starts fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    pass

app = typer.Typer(
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    help="immunomod: a cited knowledge base of immunomodulator medicines.",
)
kb_app = typer.Typer(no_args_is_help=True, help="Build, check and describe the knowledge base.")
app.add_typer(kb_app, name="kb")
batch_app = typer.Typer(no_args_is_help=True, help="Classify drug-exposure tables (CSV, Parquet).")
app.add_typer(batch_app, name="batch")

JSON_OPT = typer.Option(False, "--json", help="Print JSON instead of tables.")


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def _err_console() -> Any:
    """Progress and spinners go to stderr, so stdout stays clean for pipes."""
    from rich.console import Console

    return Console(stderr=True)


def _console() -> Any:
    from rich.console import Console

    return Console()


@app.command()
def info(
    name: str = typer.Argument(..., help="Any name: INN, brand, biosimilar, salt or ATC code."),
    as_json: bool = JSON_OPT,
    view: str = typer.Option("clinician", help="'patient' (plain words) or 'clinician'."),
) -> None:
    """Describe one immunomodulator, with the source of every fact."""
    from immunomod import kb
    from immunomod.errors import UnknownDrugError

    try:
        rec = kb.get(name)
    except UnknownDrugError:
        # A product string or sig ("Humira 40 mg pen") names one ingredient for sure: show it.
        from immunomod.names import resolve

        sure = {m.ingredient for m in resolve(name).matches if m.status == "unique"}
        if len(sure) != 1:
            raise
        rec = kb.get(sure.pop() or "")
    if as_json:
        _print_json(rec.public_dict())
        return
    from immunomod.interfaces.render import render_drug

    render_drug(_console(), rec, patient=view.lower().startswith("p"))


@app.command()
def search(text: str, as_json: bool = JSON_OPT, limit: int = 20) -> None:
    """Find immunomodulators by part of a name, a misspelling or an ATC prefix."""
    from immunomod import kb

    hits = kb.search(text, limit)
    if as_json:
        _print_json([h.as_dict() for h in hits])
        return
    from immunomod.interfaces.render import render_summaries

    render_summaries(_console(), f"Matches for '{text}'", hits)
    if not hits:
        raise typer.Exit(2)


@app.command()
def resolve(
    text: str | None = typer.Argument(None, help="A name, product string or note."),
    as_json: bool = JSON_OPT,
    fmt: str = typer.Option(
        "table", "--format", help="'table', 'json', or 'jsonl' (one text per stdin line)."
    ),
) -> None:
    """Resolve drug names in a text: ingredient, status, confidence, context and sig."""
    from immunomod.names import resolve as resolve_text

    if fmt == "jsonl":
        from immunomod.interfaces.streams import resolve_jsonl

        if not sys.stderr.isatty():
            resolve_jsonl(sys.stdin.buffer, sys.stdout)
            return
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        # The input length is unknown (a pipe), so the bar counts lines rather than filling.
        columns = (SpinnerColumn(), TextColumn("{task.completed:,} lines resolved"))
        # redirect_stdout=False: by default rich would capture stdout, mixing the JSON into stderr.
        with Progress(
            *columns, TimeElapsedColumn(), console=_err_console(), redirect_stdout=False
        ) as bar:
            task = bar.add_task("resolve", total=None)
            n = resolve_jsonl(sys.stdin.buffer, sys.stdout, lambda k: bar.update(task, completed=k))
            bar.update(task, completed=n)
        return
    if text is None:
        raise typer.BadParameter("give TEXT, or use --format jsonl with lines on stdin")
    res = resolve_text(text)
    if as_json or fmt == "json":
        _print_json(res.as_json())
    else:
        from immunomod.interfaces.render import render_resolution

        render_resolution(_console(), res)
    if res.error or not res.matches:
        raise typer.Exit(2)


@app.command()
def assess(
    file: Path | None = typer.Argument(None, help="Regimen JSON file ('-' for stdin)."),
    text: str | None = typer.Option(None, "--text", help="Medications as free text."),
    weight: float | None = typer.Option(None, "--weight", help="Weight in kg."),
    age: float | None = typer.Option(None, "--age", help="Age in years."),
    vaccine: list[str] = typer.Option([], "--vaccine", help="Planned vaccine (repeatable)."),
    as_of: str | None = typer.Option(None, "--as-of", help="Date of the assessment (today)."),
    jurisdiction: str = typer.Option("US", help="US, UK, AU, EU or INT: which rules lead."),
    ics: Path | None = typer.Option(None, "--ics", help="Write the monitoring schedule here."),
    fhir: Path | None = typer.Option(
        None, "--fhir", help="A FHIR R4 Bundle (JSON) instead of FILE ('-' for stdin)."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Check a regimen: immunosuppression level, vaccines, screening, monitoring, cautions."""
    from immunomod.interfaces.regimen_io import request_from_cli, request_from_fhir_file
    from immunomod.rules import assess as run_assess

    notes: list[str] = []
    if fhir is not None:
        if file is not None or text is not None:
            raise typer.BadParameter("give either --fhir or FILE/--text, not both")
        req, notes = request_from_fhir_file(fhir, weight, age, vaccine, as_of, jurisdiction)
    else:
        req = request_from_cli(file, text, weight, age, vaccine, as_of, jurisdiction)
    result = run_assess(req)
    if notes:
        result = result.model_copy(update={"input_notes": [*notes, *result.input_notes]})
    if ics is not None:
        from immunomod.rules.schedule import write_ics

        write_ics(result, ics)
    if as_json:
        _print_json(result.as_json())
        return
    from immunomod.interfaces.render import render_assessment

    render_assessment(_console(), result)


@app.command()
def explain(rule_id: str, as_json: bool = JSON_OPT) -> None:
    """Show a rule (or a knowledge-base fact) by id: thresholds, text and sources."""
    from immunomod.rules.explain import explain as find_rule

    found = find_rule(rule_id)
    if as_json:
        _print_json(found)
        return
    from immunomod.interfaces.render import render_rule

    render_rule(_console(), found)


@app.command()
def classes(as_json: bool = JSON_OPT) -> None:
    """The class tree: direction -> class -> type -> ingredients."""
    from immunomod import kb

    tree = _class_tree()
    if as_json:
        _print_json(tree)
        return
    from immunomod.interfaces.render import render_class_tree

    render_class_tree(_console(), tree, kb.store().taxonomy_extras())


def _class_tree() -> dict[str, Any]:
    from immunomod import kb

    members: dict[tuple[str, str], list[str]] = {}
    for s in kb.store().all_summaries():
        members.setdefault((s.class_id, s.type_id), []).append(s.inn)
    out: dict[str, Any] = {}
    for cid, cls in sorted(kb.classes().items(), key=lambda kv: (kv[1].direction, kv[0])):
        out.setdefault(cls.direction, {})[cid] = {
            "name": cls.name,
            "plain_name": cls.plain_name,
            "teaching_group": cls.teaching_group,
            "types": {
                tid: {"name": t.name, "ingredients": sorted(members.get((cid, tid), []))}
                for tid, t in cls.types.items()
            },
        }
    return out


@app.command()
def condition(text: str, as_json: bool = JSON_OPT) -> None:
    """Which immunomodulators treat a condition (name, synonym or abbreviation)."""
    from immunomod import kb

    cond, hits = kb.for_condition(text)
    if as_json:
        _print_json({"condition": cond.model_dump(mode="json"), "ingredients": [
            h.as_dict() for h in hits
        ]})  # fmt: skip
        return
    from immunomod.interfaces.render import render_summaries

    render_summaries(_console(), f"Immunomodulators for {cond.name}", hits)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port."),
    dev: bool = typer.Option(
        False, "--dev", help="Development mode: CDS Hooks calls need no JWT. Never in production."
    ),
    access_log: bool = typer.Option(
        False, "--access-log", help="Log each request's path and status (query strings: '?…')."
    ),
    workers: int = typer.Option(
        1, "--workers", min=1, help="Worker processes (one per core: each runs one event loop)."
    ),
) -> None:
    """Start the web app, REST API and CDS Hooks services (FastAPI on uvicorn)."""
    import os
    import signal

    import uvicorn

    from immunomod import kb

    # On SIGTERM uvicorn stops accepting, lets in-flight requests finish (at most GRACE_S), then
    # raises the signal again, so the process would end "killed by SIGTERM" (exit 143) after a
    # clean drain. A requested stop that drained is a success: exit 0. The same handler also
    # ends the process at once if the signal comes before uvicorn listens.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    if dev:
        os.environ["IMMUNOMOD_CDS_AUTH"] = "off"
    # A missing or tampered knowledge base stops us here with one line and exit code 3, rather
    # than as a traceback from inside the app's start-up.
    kb.store()

    if workers > 1:
        _workers_socket_as_tcp()
    # No access log by default. With one, query strings (the regimen form's is a patient's
    # medication list) are logged as "?…" (interfaces/logs.py). Errors are still logged.
    uvicorn.run(
        "immunomod.interfaces.api:app", host=host, port=port, log_level="info",
        access_log=access_log, workers=workers, timeout_graceful_shutdown=GRACE_S,
    )  # fmt: skip


#: Seconds `serve` waits for in-flight requests after SIGTERM; under the 30 s that container
#: platforms give before SIGKILL, so a drain finishes before the hard kill.
GRACE_S = 25


def _exit_cleanly(signum: int, frame: object) -> None:
    sys.exit(0)


def _workers_socket_as_tcp() -> None:
    """Make uvicorn bind the socket its workers share as a TCP socket (IPPROTO_TCP).

    uvicorn creates it as ``socket.socket(family)``, protocol 0, and asyncio turns on
    TCP_NODELAY only for connections accepted from a socket marked TCP. Without it an answer
    sent in two writes (headers, then body) waits for the client's delayed ACK: with
    ``--workers 2`` every request took 44 ms instead of 0.7 ms (sequential requests over
    loopback, benchmarks/load.py). The same bound socket, re-wrapped with its protocol, fixes
    it; single-worker serving binds through asyncio and was never affected."""
    import socket

    from uvicorn import Config

    bind = Config.bind_socket

    def bind_tcp(self: Config) -> socket.socket:
        sock = bind(self)
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return sock  # a Unix socket: no Nagle to turn off
        return socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())

    Config.bind_socket = bind_tcp  # type: ignore[method-assign]


@kb_app.command("stats")
def kb_stats(as_json: bool = JSON_OPT) -> None:
    """Counts and content hash of the compiled knowledge base."""
    from immunomod import kb

    stats = kb.stats()
    if as_json:
        _print_json(stats)
        return
    from rich.table import Table

    table = Table("measure", "value", title="Knowledge base")
    for k, v in stats.items():
        table.add_row(k, str(v))
    _console().print(table)


@kb_app.command("coverage")
def kb_coverage(
    as_json: bool = JSON_OPT,
    part: int | None = typer.Option(None, help="1 = suppressants (issue 2/9), 2 = stimulants."),
    group: str | None = typer.Option(None, help="Scope group, e.g. L04, H02AB, L03."),
) -> None:
    """Compare the knowledge base with the in-scope ATC codes; list unexplained field gaps."""
    from immunomod import kb

    cov = kb.store().coverage(part=part, group=group)
    if as_json:
        _print_json(cov)
        return
    from rich.table import Table

    table = Table("group", "in scope", "present", "missing", title="Knowledge-base coverage")
    for gid, g in cov["by_group"].items():
        table.add_row(gid, str(g["in_scope"]), str(g["present"]), ", ".join(g["missing"]))
    console = _console()
    console.print(table)
    console.print(
        f"{len(cov['excluded'])} code(s) excluded with a reason; "
        f"{len(cov['fields_missing'])} ingredient(s) with unexplained field gaps."
    )


@kb_app.command("validate")
def kb_validate(
    data: Path | None = typer.Option(None, help="Data folder (default: the package's own)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Check the YAML sources; print file:line, the problem and a fix for each defect."""
    from immunomod.knowledge.loader import DEFAULT_DATA_DIR
    from immunomod.knowledge.validate import validate

    tree, problems = validate(data or DEFAULT_DATA_DIR)
    if as_json:
        _print_json(
            {
                "ingredients": len(tree.ingredients),
                "sources": len(tree.sources),
                "problems": [str(p) for p in problems],
            }
        )
        if problems:
            raise typer.Exit(1)
        return
    for p in problems:
        typer.echo(str(p))
    n = len(tree.ingredients)
    if problems:
        typer.echo(f"{len(problems)} problem(s) in {n} ingredient file(s).", err=True)
        raise typer.Exit(1)
    typer.echo(f"OK: {n} ingredients, {len(tree.sources)} sources, no problems.")


@kb_app.command("build")
def kb_build(
    data: Path | None = typer.Option(None, help="Data folder (default: the package's own)."),
    output: Path | None = typer.Option(None, help="SQLite file (default: the package's own)."),
    rules: Path | None = typer.Option(None, help="Rule-pack folder (default: the package's)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Validate the sources and compile them into the SQLite knowledge base."""
    from rich.console import Console

    from immunomod.knowledge.compiler import BuildError, build
    from immunomod.knowledge.loader import DEFAULT_DATA_DIR
    from immunomod.knowledge.store import DEFAULT_DB

    err = Console(stderr=True)
    try:
        # A spinner naming the stage, on stderr and only on a terminal: pipes stay clean.
        with err.status("Building the knowledge base…", spinner="dots") as status:
            stats = build(
                data or DEFAULT_DATA_DIR,
                output or DEFAULT_DB,
                rules,
                progress=lambda stage: status.update(f"Building: {stage}…"),
            )
    except BuildError as exc:
        for p in exc.problems:
            typer.echo(str(p), err=True)
        typer.echo(f"Not built: {exc}. Run `immunomod kb validate` for details.", err=True)
        raise typer.Exit(1) from None
    if as_json:
        _print_json(stats)
    else:
        typer.echo(
            f"Built {output or DEFAULT_DB}: {stats['ingredients']} ingredients, "
            f"{stats['facts']} facts, content hash {stats['content_hash'][:16]}…"
        )


_ENGINE_OPT = typer.Option("duckdb", "--engine", help="duckdb (one machine) or spark.")
_MASTER_OPT = typer.Option(
    None, "--master", help="Spark master URL (default local[*], or what spark-submit set)."
)
_PARTS_OPT = typer.Option(
    False, "--parts", help="Spark: write a folder of part files (for big data on a cluster)."
)
_CONCEPTS_OPT = typer.Option(
    None, "--concepts", help="OMOP concept table (CSV/Parquet): names for drug_concept_id."
)
_TEXT_OPT = typer.Option(
    None, "--text-column", help="Column with the drug text (default: drug_source_value)."
)


def _batch_progress() -> Any:
    """A progress bar on stderr, shown only on a terminal (pipes and logs stay clean)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    err = _err_console()
    return Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal,
    )  # fmt: skip


def _run_batch(job: str, engine: str, **kwargs: Any) -> Any:
    from immunomod.batch import classify as duck
    from immunomod.batch.classify import BatchInputError

    if engine not in {"duckdb", "spark"}:
        raise BatchInputError(f"unknown engine '{engine}': use duckdb or spark")
    with _batch_progress() as bar:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            label = {"resolve": "Resolving distinct names", "episodes": "Building episodes"}
            if stage not in tasks:
                tasks[stage] = bar.add_task(label.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        if engine == "spark":
            from immunomod.batch import spark

            return getattr(spark, job)(**kwargs, progress=progress)
        kwargs.pop("master", None), kwargs.pop("parts", None)
        return getattr(duck, job)(**kwargs, progress=progress)


@batch_app.command("classify")
def batch_classify(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="CSV, TSV or Parquet table."),
    output: Path = typer.Option(..., "--output", "-o", help="Output .csv, .tsv or .parquet."),
    text_column: str | None = _TEXT_OPT,
    concepts: Path | None = _CONCEPTS_OPT,
    engine: str = _ENGINE_OPT,
    master: str | None = _MASTER_OPT,
    parts: bool = _PARTS_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Add the resolver's answer (im_* columns) to every row; distinct texts resolved once.

    OMOP drug_exposure tables are read by convention (drug_source_value or, with --concepts,
    the concept name; sig, route, dates, days_supply, quantity). Bad rows are kept, with the
    problem in im_error.
    """
    stats = _run_batch(
        "classify", engine, input_path=input_path, output_path=output,
        text_column=text_column, concepts=concepts, master=master, parts=parts,
    )  # fmt: skip
    if as_json:
        _print_json(stats.__dict__)
        return
    bad = ", ".join(f"{k} {v:,}" for k, v in stats.errors.items())
    typer.echo(
        f"Wrote {output}: {stats.rows:,} rows, {stats.distinct_texts:,} distinct drug texts, "
        f"{stats.immunomodulator_rows:,} immunomodulator rows, {stats.error_rows:,} rows with "
        f"problems (im_error){': ' + bad if bad else ''}."
    )


@batch_app.command("episodes")
def batch_episodes(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="CSV, TSV or Parquet table."),
    output: Path = typer.Option(..., "--output", "-o", help="Output .csv, .tsv or .parquet."),
    text_column: str | None = _TEXT_OPT,
    concepts: Path | None = _CONCEPTS_OPT,
    person_column: str | None = typer.Option(
        None, "--person-column", help="Column with the person id (default: person_id)."
    ),
    grace_days: int = typer.Option(
        30,
        "--grace-days",
        help="Join same-level episodes separated by at most this many "
        "days without exposure (OHDSI's drug-era default).",
    ),
    engine: str = _ENGINE_OPT,
    master: str | None = _MASTER_OPT,
    parts: bool = _PARTS_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Per person, episodes of high/low/unknown immunosuppression (IDSA 2013 rules).

    Steroids are added up as prednisone-equivalent day by day (sig steps and tapers followed):
    >= 20 mg/day turns high on day 14 of an unbroken run. Other drugs take their rule's level.
    """
    stats = _run_batch(
        "episodes", engine, input_path=input_path, output_path=output,
        text_column=text_column, concepts=concepts, person_column=person_column,
        grace_days=grace_days, master=master, parts=parts,
    )  # fmt: skip
    if as_json:
        _print_json(stats.__dict__)
        return
    levels = ", ".join(f"{k} {v:,}" for k, v in sorted(stats.levels.items()))
    skipped = ", ".join(f"{k}: {v:,}" for k, v in stats.rows_skipped.items())
    typer.echo(
        f"Wrote {output}: {stats.episodes:,} episodes ({levels}) for {stats.persons:,} persons "
        f"from {stats.rows_used:,} exposure rows."
        + (f" Not counted: {skipped}." if skipped else "")
    )


def main() -> None:
    """Entry point: user errors become one line on stderr with exit code 2, never a traceback."""
    from immunomod.errors import KnowledgeBaseError, UserError

    try:
        # Outside standalone mode click returns a command's exit code instead of exiting.
        rc = app(standalone_mode=False)
    except UserError as exc:
        typer.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except KnowledgeBaseError as exc:
        typer.echo(f"Error: {exc}", err=True)
        sys.exit(3)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        sys.exit(130)
    except Exception as exc:
        # Usage errors (missing argument, bad option) arrive here outside standalone mode;
        # typer ships its own copy of click, so recognise them by their interface.
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            sys.exit(code)
        raise
    sys.exit(rc if isinstance(rc, int) else 0)
