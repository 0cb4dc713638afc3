"""The ``immunomod`` command line (typer + rich)."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, add_completion=True, help="Immunomodulator knowledge base.")
kb_app = typer.Typer(no_args_is_help=True, help="Build, check and describe the knowledge base.")
app.add_typer(kb_app, name="kb")


@kb_app.command("validate")
def kb_validate(
    data: Path | None = typer.Option(None, help="Data folder (default: the package's own)."),
) -> None:
    """Check the YAML sources; print file:line, the problem and a fix for each defect."""
    from immunomod.knowledge.loader import DEFAULT_DATA_DIR
    from immunomod.knowledge.validate import validate

    tree, problems = validate(data or DEFAULT_DATA_DIR)
    for p in problems:
        typer.echo(str(p))
    n = len(tree.ingredients)
    if problems:
        typer.echo(f"{len(problems)} problem(s) in {n} ingredient(s).", err=True)
        raise typer.Exit(1)
    typer.echo(f"OK: {n} ingredients, {len(tree.sources)} sources, no problems.")


def main() -> None:
    app()
