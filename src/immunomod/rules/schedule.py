"""The monitoring schedule as an iCalendar file (one all-day event per due check)."""

from __future__ import annotations

from pathlib import Path

from immunomod.rules.models import Assessment


def write_ics(assessment: Assessment, path: Path) -> int:
    """Write ``path``; return the number of events. Events carry no patient identifiers."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//immunomod//monitoring schedule//EN")
    cal.add("version", "2.0")
    n = 0
    for item in assessment.monitoring:
        for day in item.schedule:
            ev = Event()
            ev.add("uid", f"{item.rule}-{item.drug}-{day.isoformat()}@immunomod".replace(" ", "_"))
            ev.add("summary", f"{item.test} ({item.drug})")
            ev.add("dtstart", day)
            ev.add("description", f"Rule {item.rule}; sources: {', '.join(item.sources)}")
            cal.add_component(ev)
            n += 1
    path.write_bytes(cal.to_ical())
    return n
