"""Normalising names for lookup: the same key for "Humira®", "HUMIRA" and " humira ".

>>> name_key("Ciclosporin-A ®")
'ciclosporin a'
"""

from __future__ import annotations

import re
import unicodedata

_MARKS = re.compile(r"[®™©℠]")
_SEPARATORS = re.compile(r"[\s\-_‐-―/,.;:()\[\]{}'\"`]+")


def name_key(name: str) -> str:
    """Case-folded, accent-free, NFKC text with punctuation and hyphens turned into spaces."""
    if name.isascii():  # fast path: nothing to decompose (most drug names and notes)
        return _SEPARATORS.sub(" ", name.lower()).strip()
    text = unicodedata.normalize("NFKC", _MARKS.sub("", name))
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _SEPARATORS.sub(" ", text.casefold()).strip()


#: The second word of an antibody's INN that names what is bound to it (a PEG, a drug): records
#: often leave it out ("certolizumab" for certolizumab pegol), or misspell it.
CONJUGATES = frozenset(
    {"pegol", "vedotin", "mafodotin", "ozogamicin", "tesirine", "pasudotox", "tiuxetan"}
)
