"""One exception tree for immunomod.

ImmunomodError                 base of everything we raise on purpose
├── UserError                  bad input: shown as one line, no traceback (CLI exit 2)
│   ├── UnknownDrugError       no ingredient has this name; carries suggestions
│   └── UnknownConditionError  no condition has this name; carries suggestions
└── KnowledgeBaseError         the compiled knowledge base is missing, stale or tampered
    └── KnowledgeBaseIntegrityError  its bytes do not match the checksum written when it was built
"""

from __future__ import annotations

from typing import Any


class ImmunomodError(Exception):
    """Base of every error immunomod raises on purpose."""


class UserError(ImmunomodError):
    """The input cannot be answered as given; the message says what to change."""


class UnknownDrugError(UserError, LookupError):
    """No ingredient in the knowledge base answers to this name or code."""

    def __init__(self, query: str, suggestions: list[str]):
        self.query = query
        self.suggestions = suggestions
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(
            f"'{query}' is not an immunomodulator in the knowledge base.{hint} "
            "Try an ingredient (INN), brand or ATC code, or `immunomod search TEXT`."
        )


class UnknownConditionError(UserError, LookupError):
    """No condition in the knowledge base answers to this text."""

    def __init__(self, query: str, suggestions: list[str]):
        self.query = query
        self.suggestions = suggestions
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"No condition named '{query}' in the knowledge base.{hint}")


class KnowledgeBaseError(ImmunomodError):
    """The compiled knowledge base cannot be used; the message says how to rebuild it."""


class KnowledgeBaseIntegrityError(KnowledgeBaseError):
    """The knowledge-base file is corrupt or was changed after it was built (its SHA-256 does
    not match ``kb.sqlite.sha256``); the message names the file, what differs and the fix."""


def describe(exc: Any, limit: int = 8) -> str:
    """A pydantic ``ValidationError`` as "field.path: what is wrong", one per problem, joined by
    "; " (at most ``limit``). Every input edge (CLI, API, FHIR, CDS Hooks) words it this way."""
    parts = []
    for err in exc.errors()[:limit]:
        where = ".".join(str(x) for x in err["loc"]) or "(top)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)
