"""Rich renderings of knowledge-base answers for people at a terminal.

Each fact is printed with its source ids in brackets and, at the end, the list of sources
with their titles and URLs, so every line on screen can be traced.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from immunomod.knowledge.models import DrugRecord, Fact
from immunomod.knowledge.store import DrugSummary

_DIRECTION_STYLE = {"suppress": "cyan", "stimulate": "magenta", "mixed": "yellow"}
_DIRECTION_PLAIN = {
    "suppress": "calms the immune system",
    "stimulate": "boosts the immune system",
    "mixed": "boosts some parts of the immune system and calms others",
}


def _cite(f: Fact) -> str:
    refs = ", ".join(str(s) for s in f.sources)
    mark = "" if f.confidence == "high" else f"; {f.confidence} confidence"
    inh = f"; from {f.inherited_from}" if f.inherited_from else ""
    return f" [dim]\\[{refs}{mark}{inh}][/dim]"


def _says(f: Any, patient: bool) -> str:
    plain = getattr(f, "plain", None)
    text = getattr(f, "text", None)
    return str((plain if patient and plain else text) or plain or "")


def render_drug(console: Console, rec: DrugRecord, patient: bool = False) -> None:
    ing = rec.ingredient
    style = _DIRECTION_STYLE[rec.direction]
    head = Text.assemble(
        (rec.inn, "bold"),
        "  ",
        (rec.direction.upper(), f"bold {style}"),
        f"  {rec.class_.plain_name or rec.class_.name} · {rec.type.name}",
    )
    facts = Table.grid(padding=(0, 1))
    facts.add_column(style="bold", no_wrap=True)
    facts.add_column()
    facts.add_row("What it does", _DIRECTION_PLAIN[rec.direction])
    brands = ", ".join(sorted({b.name for b in ing.brands}))
    if brands:
        facts.add_row("Brands", brands)
    if ing.biosimilars:
        bios = sorted({n for b in ing.biosimilars for n in [b.proper_name or "", *b.brands] if n})
        facts.add_row("Biosimilars", ", ".join(bios))
    if not patient:
        facts.add_row("ATC", ", ".join(rec.atc) or "—")
        facts.add_row("Modality", rec.modality)
    facts.add_row("How it works", _says(ing.mechanism, patient) + _cite(ing.mechanism))
    facts.add_row(
        "How it is given",
        "; ".join(r.route + (f" ({', '.join(r.forms)})" if r.forms else "") for r in ing.routes),
    )
    if ing.indications:
        facts.add_row("Treats", ", ".join(i.condition.replace("-", " ") for i in ing.indications))
    sections: list[tuple[str, Sequence[Any]]] = [
        ("Boxed warnings", ing.boxed_warnings),
        ("Common side effects", ing.side_effects),
        ("Serious risks", ing.serious_risks),
        ("Tests before starting", ing.screening),
        ("Monitoring", ing.monitoring),
        ("Vaccines", ing.vaccines),
        ("Pregnancy and breastfeeding", ing.pregnancy),
        ("Time to effect", ing.time_to_effect),
    ]
    for title, items in sections:
        for i, f in enumerate(items):
            label = title if i == 0 else ""
            lead = (
                getattr(f, "title", None) or getattr(f, "test", None) or getattr(f, "effect", None)
            )
            if getattr(f, "effect", None) and patient and getattr(f, "plain", None):
                lead = f.plain
            body = _says(f, patient) if not getattr(f, "effect", None) else ""
            freq = getattr(f, "frequency", None)
            if freq is not None and not patient:
                body = f"{body} ({freq})".strip()
            text = f"[b]{lead}[/b]: {body}" if lead and body else str(lead or body)
            facts.add_row(label, text + _cite(f))
    summary = Text(ing.summary.plain)
    console.print(Panel(Group(summary, Text(""), facts), title=head, title_align="left"))
    table = Table("source", "title", "url", title="Sources", show_lines=False)
    for sid, src in rec.sources.items():
        table.add_row(sid, f"{src.title} ({src.publisher}, {src.year})", src.url)
    console.print(table)


def render_summaries(console: Console, title: str, rows: Sequence[DrugSummary]) -> None:
    table = Table("ingredient", "direction", "class", "type", "matched", title=title)
    for r in rows:
        style = _DIRECTION_STYLE.get(r.direction, "")
        table.add_row(r.inn, f"[{style}]{r.direction}[/]", r.class_id, r.type_id, r.matched or "")
    if not rows:
        console.print(f"[yellow]{title}: none found.[/yellow]")
        return
    console.print(table)


def render_class_tree(console: Console, tree: dict[str, Any], extras: dict[str, Any]) -> None:
    root = Tree("[bold]Immunomodulators[/bold]")
    for direction, classes in tree.items():
        style = _DIRECTION_STYLE.get(direction, "")
        plain = extras.get("directions", {}).get(direction, {}).get("plain", "")
        d = root.add(f"[bold {style}]{direction}[/] [dim]{plain}[/dim]")
        for cid, cls in classes.items():
            c = d.add(f"[bold]{cls['name']}[/bold] [dim]({cid}; taught as {cls['teaching_group']})")
            for tid, typ in cls["types"].items():
                members = ", ".join(typ["ingredients"]) or "[dim]none yet[/dim]"
                c.add(f"{typ['name']} [dim]({tid})[/dim]: {members}")
    console.print(root)
    glossary = extras.get("glossary", {})
    if glossary:
        table = Table("term", "what it means", title="Words to know", show_lines=True)
        for term, fact in glossary.items():
            table.add_row(term.replace("-", " "), f"{fact['plain']}\n[dim]{fact['text']}[/dim]")
        console.print(table)


def render_resolution(console: Console, res: Any) -> None:
    if res.error:
        console.print(f"[red]Error:[/red] {res.error}")
        return
    table = Table(
        "text", "ingredient", "status", "conf.", "context", "route", "sig", title=res.input[:80]
    )
    for m in res.matches:
        name = m.ingredient or ", ".join(c.ingredient for c in m.candidates) or "?"
        style = "green" if m.status == "unique" else "yellow" if m.immunomodulator else "dim"
        sig = ""
        if m.sig:
            s = m.sig
            sig = " ".join(str(x) for x in (s.dose, s.unit, s.frequency) if x is not None)
            if s.amount_per_day is not None:
                sig += f" (= {s.amount_per_day:g} {s.unit}/day)"
        route = (m.route or "") + (" (local)" if m.local else "")
        table.add_row(
            m.matched_text,
            f"[{style}]{name}[/]",
            m.status,
            f"{m.confidence:.2f}",
            m.context,
            route,
            sig,
        )
    if not res.matches:
        hint = f" Did you mean: {', '.join(res.suggestions)}?" if res.suggestions else ""
        console.print(f"[yellow]No drug names found.{hint}[/yellow]")
        return
    console.print(table)


_LEVEL_STYLE = {"high": "bold red", "low": "yellow", "none": "green", "unknown": "bold magenta"}
_STATUS_STYLE = {
    "contraindicated": "bold red",
    "defer": "yellow",
    "unknown": "bold magenta",
    "allowed": "green",
    "allowed_reduced_response": "cyan",
    "give_before_start": "cyan",
}


def _short(text: str, n: int = 110) -> str:
    return text if len(text) <= n else text[: n - 1].rsplit(" ", 1)[0] + "…"


def render_assessment(console: Console, a: Any) -> None:
    imm = a.immunosuppression
    pe = a.prednisone_equivalent_mg_per_day
    head = Text.assemble(
        ("Immunosuppression: ", "bold"),
        (imm.level.upper(), _LEVEL_STYLE[imm.level]),
        f"   prednisone-equivalent: {'unknown' if pe is None else f'{pe:g} mg/day'}",
        f"   as of {a.as_of} ({a.jurisdiction})",
    )
    lines = Table.grid(padding=(0, 1))
    lines.add_column(style="bold", no_wrap=True)
    lines.add_column()
    for c in imm.contributing:
        lines.add_row(c.drug, f"[{_LEVEL_STYLE[c.level]}]{c.level}[/] [dim]({c.rule})[/dim]")
    console.print(Panel(lines, title=head, title_align="left"))
    vt = Table(
        "vaccine", "live", "verdict", "date", "why (rule)", title="Vaccines", show_lines=True
    )
    for v in a.vaccines:
        date = v.earliest_date or v.latest_date or ""
        when = f"from {date}" if v.earliest_date else f"by {date}" if v.latest_date else ""
        why = "\n".join(f"{_short(r.text)} [dim]({r.rule})[/dim]" for r in v.reasons[:5]) + (
            "\n[dim]… immunomod explain RULE for the sources[/dim]" if v.reasons else ""
        )
        live = "?" if v.live is None else "yes" if v.live else "no"
        vt.add_row(v.vaccine, live, f"[{_STATUS_STYLE[v.status]}]{v.status}[/]", when, why)
    if a.vaccines:
        console.print(vt)
    if a.screening:
        st = Table("test", "for", "when", "source", title="Screening before starting")
        for s in a.screening:
            st.add_row(
                s.test,
                s.drug,
                s.when + (f" (start {s.due})" if s.due else ""),
                ", ".join(s.sources),
            )
        console.print(st)
    if a.monitoring:
        mt = Table("check", "for", "next due", "how long", "source", title="Monitoring")
        for m in a.monitoring:
            mt.add_row(m.test, m.drug, str(m.next_due or "-"), m.when[:50], ", ".join(m.sources))
        console.print(mt)
    for c in a.cautions:
        console.print(
            f"[bold yellow]Caution ({c.severity})[/]: {', '.join(c.drugs)}: {c.text} "
            f"[dim]({c.rule}; {', '.join(c.sources)})[/dim]"
        )
    if a.missing:
        console.print("[bold magenta]Missing (limits the answer):[/] " + "; ".join(a.missing))
    if a.input_notes:
        console.print("[bold]How the input was read:[/] " + "; ".join(a.input_notes))


def render_rule(console: Console, rule: dict[str, Any]) -> None:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for key in (
        "kind",
        "title",
        "text",
        "plain",
        "threshold",
        "child_threshold",
        "child_weight",
        "min_duration",
        "interval",
        "value",
        "level",
        "severity",
        "jurisdiction",
        "confidence",
        "note",
        "stated_on",
    ):
        if key in rule:
            val = rule[key]
            if isinstance(val, dict) and "value" in val:
                op = {"=": "", ">=": "≥ ", "<=": "≤ ", ">": "> ", "<": "< ", "~": "~"}[
                    val.get("op", "=")
                ]
                val = f"{op}{val['value']:g} {val.get('unit') or ''}"
            grid.add_row(key, str(val))
    for s in rule.get("sources", []):
        loc = f" [{s['locator']}]" if s.get("locator") else ""
        grid.add_row("source", f"{s['id']}{loc}: {s.get('title', '')} {s.get('url', '')}")
    console.print(Panel(grid, title=rule.get("id", ""), title_align="left"))
