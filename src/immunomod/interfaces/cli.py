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
        result = result.model_copy(update={"input_notes": notes})
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
        False, "--access-log", help="Log each request line (query strings may hold regimens)."
    ),
) -> None:
    """Start the web app, REST API and CDS Hooks services (FastAPI on uvicorn)."""
    import os

    import uvicorn

    if dev:
        os.environ["IMMUNOMOD_CDS_AUTH"] = "off"

    # No access log by default: request lines carry query strings, and the regimen form's query
    # is a patient's medication list. Errors and start-up messages are still logged.
    uvicorn.run(
        "immunomod.interfaces.api:app", host=host, port=port, log_level="info",
        access_log=access_log,
    )  # fmt: skip


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


@batch_app.command("classify")
def batch_classify(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="CSV, TSV or Parquet table."),
    output: Path = typer.Option(..., "--output", "-o", help="Output .csv, .tsv or .parquet."),
    text_column: str | None = typer.Option(
        None, "--text-column", help="Column with the drug text (default: drug_source_value)."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Add the resolver's answer (im_* columns) to every row; distinct strings resolved once."""
    from immunomod.batch.classify import classify

    err = _err_console()
    with err.status("Reading the table…", spinner="dots") as status:
        stats = classify(
            input_path, output, text_column,
            progress=lambda done, total: status.update(f"Resolving {done:,}/{total:,} names…"),
        )  # fmt: skip
    if as_json:
        _print_json(stats.__dict__)
    else:
        typer.echo(
            f"Wrote {output}: {stats.rows:,} rows, {stats.distinct_texts:,} distinct drug texts, "
            f"{stats.immunomodulator_rows:,} immunomodulator rows."
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
