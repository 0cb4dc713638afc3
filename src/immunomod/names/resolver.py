"""Find every drug named in a text and say what it is, how sure we are, and how it is taken.

    >>> from immunomod.names import resolve
    >>> r = resolve("adalimumab 40 MG in 0.4 ML Prefilled Syringe [Humira]")
    >>> [(m.ingredient, m.status) for m in r.matches]
    [('adalimumab', 'unique')]

The steps, in order, for each position in the text (longest name first):

1. **exact**: a run of words is a name the knowledge base holds (INN, synonym, salt, brand,
   biosimilar, code) or an ambiguous abbreviation (answered with candidates);
2. **compact**: the same without spaces ("interferon beta1a");
3. **other drug**: a name of a drug that is not an immunomodulator (DrugBank vocabulary);
4. **fuzzy**: a drug-like word within one or two edits (or a sound-alike) of an
   immunomodulator name, unless an ordinary drug name is as close: ``needs_review``;
5. **pattern**: an unknown word with a drug-name stem (-mab, -cept, -nib …): ``not_found``.

Words of dose forms, salts, routes and sigs are never taken for drug names. Each match then
gets its context (current, stopped, negated …) and its sig from the text that follows it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from immunomod.knowledge.normalise import CONJUGATES, name_key
from immunomod.names.context import clause_bounds, mention_context
from immunomod.names.fuzzy import DeleteIndex
from immunomod.names.lexicon import LEXICON
from immunomod.names.models import Candidate, Match, Resolution
from immunomod.names.sig import has_dosing, parse_sig
from immunomod.names.vocabulary import Vocabulary, vocabulary

#: Longest input accepted (characters); longer input gets an error, not a slow answer.
MAX_CHARS = 10_000

_TOKEN = re.compile(r"[^\W_]+")
_DRUG_STEM = re.compile(
    r"(mab|cept|kinra|kin|nib|tinib|limus|leucel|cel|stim|grastim|ase|tide|mod|imod|lisib|"
    r"rsen|vec|parib|ciclib|zomib|lukast|sentan|gliflozin|gliptin|prazole|sartan|pril|olol|"
    r"statin|mycin|cillin|cycline|floxacin|azole|vir|navir|buvir)$"
)
_COMMON = LEXICON.common


@dataclass(frozen=True)
class _Token:
    norm: str
    start: int
    end: int


def _tokens(text: str) -> list[_Token]:
    out = []
    for m in _TOKEN.finditer(text):
        norm = name_key(m.group())
        if norm:
            out.append(_Token(norm, m.start(), m.end()))
    return out


def _sound(key: str) -> str:
    """A rough sound key for drug names: c/k/s, ph/f, y/i and doubled letters sound alike."""
    k = key.replace("ph", "f").replace("th", "t").replace("ck", "k").replace("qu", "kw")
    k = re.sub(r"c(?=[eiy])", "s", k)
    k = k.replace("c", "k").replace("x", "ks").replace("z", "s").replace("y", "i")
    k = re.sub(r"h(?![aeiou])", "", k)
    return re.sub(r"(.)\1+", r"\1", k)


_ALIKE_STARTS = {frozenset(p) for p in ("ck", "cs", "cq", "kq", "iy", "fp", "xz", "ae", "ei", "ou")}


def _same_start(a: str, b: str) -> bool:
    """First letters equal, or alike in sound (c/k, soft c/s, f/ph, i/y, x/z)."""
    return a[0] == b[0] or frozenset((a[0], b[0])) in _ALIKE_STARTS


class Resolver:
    """Resolves texts against one vocabulary (the package's own by default)."""

    def __init__(self, vocab: Vocabulary | None = None):
        self.vocab = vocab or vocabulary()
        self._never = LEXICON.all_words | _COMMON
        self._sound_keys: dict[str, list[str]] = {}
        self._keys_by_words: dict[int, list[str]] = {}
        # longest name (in words) starting with each word, incl. compact/other/ambiguous names
        self._span_from: dict[str, int] = {}
        for key in (
            *self.vocab.immuno,
            *self.vocab.other,
            *self.vocab.ambiguous,
            *self.vocab.combinations,
        ):
            first, n = key.split(" ", 1)[0], key.count(" ") + 1
            if n > self._span_from.get(first, 1):
                self._span_from[first] = min(n, self.vocab.max_words)
        self._pools: dict[int, dict[tuple[int, int], list[str]]] = {}
        # single-word names by their deletions, for misspellings (~40 ms to build)
        self._single_words = DeleteIndex(k for k in self.vocab.fuzzy_keys if " " not in k)
        self._other_by_len: dict[int, list[str]] = {}
        for key in self.vocab.other:
            self._other_by_len.setdefault(len(key), []).append(key)
        for key in self.vocab.fuzzy_keys:
            self._sound_keys.setdefault(_sound(key), []).append(key)
            self._keys_by_words.setdefault(key.count(" ") + 1, []).append(key)

    def _near_length(self, by_len: dict[int, list[str]], n: int, limit: int) -> list[str]:
        """Keys whose length is within ``limit`` of ``n`` (no closer key can be farther).

        Built once per (vocabulary, length, limit): a batch of misspellings asks for the same
        few dozen pools again and again."""
        pools = self._pools.setdefault(id(by_len), {})
        pool = pools.get((n, limit))
        if pool is None:
            pool = [k for d in range(n - limit, n + limit + 1) for k in by_len.get(d, [])]
            pools[(n, limit)] = pool
        return pool

    # --- public -----------------------------------------------------------------------

    def resolve(self, text: str) -> Resolution:
        """Every drug mention in ``text`` (see the module docstring)."""
        if not isinstance(text, str):
            return Resolution(input=str(text), error="input must be text")
        problem = _input_problem(text)
        if problem:
            return Resolution(input=text, error=problem)
        matches = _merge_repeats(text, self._scan(text))
        self._add_context_and_sig(text, matches)
        suggestions: list[str] = []
        if not matches:
            suggestions = self._suggest(text)
        return Resolution(input=text, matches=matches, suggestions=suggestions)

    def resolve_with(self, name: str, extra: str, named: Resolution | None = None) -> Resolution:
        """Resolve ``name + " " + extra`` when ``extra`` is dosing text (a sig, a route) that
        names no other drug: the drugs come from ``name`` alone (``named``, if the caller
        already resolved it, e.g. once for a million rows), context and sig from the whole.

        This is how batch jobs join a product column to a sig column without resolving every
        (product, sig) pair from scratch.
        """
        named = named if named is not None else self.resolve(name)
        if not extra.strip() or named.error or not named.matches:
            return named
        text = f"{name} {extra}"
        problem = _input_problem(text)
        if problem:
            return Resolution(input=text, error=problem)
        matches = list(named.matches)  # replaced by updated copies: ``named`` stays as it is
        self._add_context_and_sig(text, matches)
        return Resolution(input=text, matches=matches, suggestions=named.suggestions)

    # --- scanning ---------------------------------------------------------------------

    def _scan(self, text: str) -> list[Match]:
        toks = _tokens(text)
        out: list[Match] = []
        i = 0
        while i < len(toks):
            found = None
            # only words that start a multi-word name need the longer windows
            top = self._span_from.get(toks[i].norm, 1)
            if top == 1 and i + 1 < len(toks) and len(toks[i + 1].norm) <= 3:
                top = 2  # "FK-506", "6-MP", "beta-1a": joined forms are names too
            top = min(top, len(toks) - i)
            for n in range(top, 0, -1):
                words = [t.norm for t in toks[i : i + n]]
                key = " ".join(words)
                found = self._lookup(key, n, text, toks[i].start, toks[i + n - 1].end)
                if found:
                    if self.vocab.kinds.get(key) == "inn-stem" and _conjugate_at(toks, i + n):
                        # "gemtuzumab ozogamikin": the misspelt conjugate belongs to the name
                        found = [_extend(m, text, toks[i + n].end) for m in found]
                        n += 1
                    out.extend(found)
                    i += n
                    break
            if found:
                continue
            tok = toks[i]
            if self._drug_like(tok.norm):
                m, used = self._fuzzy_window(toks, i, text)
                if m:
                    out.append(m)
                    i += used
                    continue
            i += 1
        return out

    def _fuzzy_window(self, toks: list[_Token], i: int, text: str) -> tuple[Match | None, int]:
        """Fuzzy-match the longest run of words (up to 3) that is close to a known name."""
        for n in (3, 2):
            if i + n > len(toks):
                continue
            words = " ".join(t.norm for t in toks[i : i + n])
            keys = self._keys_by_words.get(n, [])
            m = self._fuzzy(words, text, toks[i].start, toks[i + n - 1].end, keys) if keys else None
            if m is not None and m.status != "not_found":
                return m, n
        tok = toks[i]
        return self._fuzzy(tok.norm, text, tok.start, tok.end), 1

    def _lookup(self, key: str, n: int, text: str, start: int, end: int) -> list[Match] | None:
        v = self.vocab
        raw = text[start:end]
        if key in v.ambiguous:
            return [self._ambiguous(v.ambiguous[key], raw, start, end)]
        if key in v.combinations:  # a combination or regimen: one match per drug in it
            parts = v.combinations[key]
            note = "Combination: " + ", ".join(p.removeprefix("other:") for p in parts) + "."
            return [
                (
                    self._other(v.other[p[6:]], raw, start, end, 1.0, "exact",
                                v.other_category.get(p[6:]))
                    if p.startswith("other:")
                    else self._match(p, raw, start, end, 1.0, "unique", "exact", None)
                ).model_copy(update={"note": note})
                for p in parts
            ]  # fmt: skip
        ids = v.immuno.get(key) or (v.compact.get(key.replace(" ", "")) if n > 1 else None)
        if ids:
            method = "abbreviation" if v.kinds.get(key) == "abbreviation" else "exact"
            if len(ids) == 1:
                return [self._match(ids[0], raw, start, end, 1.0, "unique", method, key)]
            return [self._ambiguous(ids, raw, start, end)]
        if n == 1 and key in self._never:
            return None  # "sodium", "gel", "daily" are not drugs here even if DrugBank lists them
        other = v.other.get(key) or (v.other_compact.get(key.replace(" ", "")) if n > 1 else None)
        if other and (n > 1 or len(key) >= 4 or key in v.other_curated):
            return [self._other(other, raw, start, end, 1.0, "exact", v.other_category.get(key))]
        return None

    def _drug_like(self, norm: str) -> bool:
        return (
            len(norm) >= 5
            and norm.isalpha()
            and norm not in self._never
            and norm not in self.vocab.other
        )

    def _fuzzy(
        self, norm: str, text: str, start: int, end: int, keys: list[str] | None = None
    ) -> Match | None:
        v = self.vocab
        limit = edit_limit(norm)
        if limit == 0:
            return None
        if keys is None:
            near = self._single_words.near(norm, limit)
        else:  # runs of 2 or 3 words: a few hundred names, compared one by one
            near = [(k, d) for k, d, _ in process.extract(
                norm, keys, scorer=OSA.distance, score_cutoff=limit, limit=8
            )]  # fmt: skip
        # Typos rarely hit the first letter; sound-alikes (c/k, ph/f) are found below.
        hits = [h for h in near if _same_start(h[0], norm)]
        method = "fuzzy"
        if not hits:
            sound_hits = self._sound_keys.get(_sound(norm), [])
            hits = [(k, OSA.distance(norm, k)) for k in sound_hits]
            hits = [h for h in hits if h[1] <= limit + 1]
            method = "phonetic"
        raw = text[start:end]
        if not hits:
            if _DRUG_STEM.search(norm) and len(norm) >= 6:
                return Match(
                    ingredient=None, immunomodulator=False, matched_text=raw, span=(start, end),
                    confidence=0.0, status="not_found", method="pattern",
                    note="Looks like a drug name but is not in the vocabulary; check the spelling "
                    "or whether it is a new medicine.",
                )  # fmt: skip
            return None
        best = min(h[1] for h in hits)
        score = round(1 - best / max(len(norm), 1), 3)
        # An ordinary drug closer than any immunomodulator wins ("metformin" is not
        # methotrexate); one just as close makes the answer ambiguous, never a guess.
        other_hit = self._closest_other(norm, best, next(k for k, d in hits if d == best))
        if other_hit is not None and other_hit[1] < best:
            key = other_hit[0]
            return self._other(
                v.other[key], raw, start, end, score, "fuzzy", v.other_category.get(key)
            )
        ids: list[str] = []
        for key, dist in hits:
            if dist == best:
                for iid in v.immuno[key]:
                    if iid not in ids:
                        ids.append(iid)
        if other_hit is not None:
            ids.append("other:" + v.other[other_hit[0]].lower())
        if len(ids) > 1:  # a tie is not a guess: the caller chooses
            m = self._ambiguous(tuple(ids), raw, start, end, score)
            return m.model_copy(update={"method": method})
        return self._match(ids[0], raw, start, end, score, "needs_review", method, None)

    def _closest_other(self, norm: str, best: int, hit: str) -> tuple[str, int] | None:
        """The first other-drug name nearest ``norm`` and no farther than ``best`` edits, or
        None. ``hit`` is an immunomodulator name ``best`` edits from ``norm``: every such
        other name lies within 2 * best edits of it, and the compiler listed those
        (:func:`immunomod.knowledge.compiler.guard_neighbours`), so a few dozen are compared
        instead of ~12,000."""
        listed = self.vocab.guard.get(hit) if best <= 2 else None
        if listed is None:  # sound-alikes may be 3 edits away; hand-made vocabularies
            pool = self._near_length(self._other_by_len, len(norm), best)
            found = process.extractOne(norm, pool, scorer=OSA.distance, score_cutoff=best)
            return (found[0], found[1]) if found is not None else None
        closest: tuple[str, int] | None = None
        for other in listed:  # ordered as the full scan meets them: ties end the same way
            dist = OSA.distance(norm, other, score_cutoff=best)
            if dist <= best and (closest is None or dist < closest[1]):
                closest = (other, dist)
        return closest

    # --- building matches ----------------------------------------------------------------

    def _match(
        self, iid: str, raw: str, start: int, end: int, conf: float, status: str, method: str,
        key: str | None,
    ) -> Match:  # fmt: skip
        info = self.vocab.info[iid]
        return Match(
            ingredient=iid,
            immunomodulator=True,
            direction=info.direction,
            class_=info.class_id,
            type=info.type_id,
            atc=list(info.atc),
            matched_text=raw,
            span=(start, end),
            confidence=conf,
            status=status,
            method=method,
            route=self._brand_route(key, iid),
        )

    def _brand_route(self, key: str | None, iid: str) -> str | None:
        routes = self.vocab.brand_routes.get((key, iid)) if key else None
        return routes[0] if routes and len(set(routes)) == 1 else None

    def _ambiguous(
        self, cands: tuple[str, ...], raw: str, start: int, end: int, score: float = 1.0
    ) -> Match:
        v = self.vocab
        candidates = [
            Candidate(ingredient=c[6:], immunomodulator=False, score=score)
            if c.startswith("other:")
            else Candidate(ingredient=c, immunomodulator=True, score=score)
            for c in cands
        ]
        any_immuno = any(c.immunomodulator for c in candidates)
        return Match(
            ingredient=None, immunomodulator=any_immuno, matched_text=raw, span=(start, end),
            confidence=round(score / max(len(candidates), 1), 3), status="ambiguous",
            method="abbreviation" if name_key(raw) in v.ambiguous else "exact",
            candidates=candidates,
            note="More than one medicine has this name; say which one.",
        )  # fmt: skip

    def _other(
        self,
        name: str,
        raw: str,
        start: int,
        end: int,
        conf: float,
        method: str,
        category: str | None = None,
    ) -> Match:
        """A known drug that is not an immunomodulator; ``class`` says if it is chemotherapy."""
        return Match(
            class_=category,
            ingredient=name.lower(), immunomodulator=False, matched_text=raw, span=(start, end),
            confidence=conf, status="not_immunomodulator", method=method,
        )  # fmt: skip

    # --- context, route and sig --------------------------------------------------------

    def _add_context_and_sig(self, text: str, matches: list[Match]) -> None:
        for k, m in enumerate(matches):
            start, end = m.span
            nxt = matches[k + 1].span[0] if k + 1 < len(matches) else len(text)
            _, clause_end = clause_bounds(text, start, end)
            sig_from = end
            if (num := _NAME_NUMBER.search(m.matched_text)) and _UNIT_NEXT.match(text, end):
                sig_from = start + num.start()  # "Kenalog 40 mg": the name's number is the dose
            tail = text[sig_from : min(nxt, _sig_end(text, end, clause_end))]
            head = text[max(0, start - 40) : start]
            if _BY_AMOUNT.match(tail):  # "tapering prednisolone by 1mg a month": a change
                # of dose, not a dose; read as a taper only when the verb says which way
                tail = ("reduce " + tail.lstrip()) if _REDUCE_BEFORE.search(head) else ""
            route = m.route
            local = _local_route(tail) or _local_route(head)
            if local:
                route = local
            sig = parse_sig(tail) if has_dosing(tail) else None
            if sig and sig.route and not local:
                route = sig.route
            matches[k] = m.model_copy(
                update={
                    "context": mention_context(text, start, end),
                    "sig": sig,
                    "route": route,
                    "local": route in _LOCAL_ROUTES if route else False,
                }
            )
        # "BUDESONIDE-FORMOTEROL ... IN AERO": the parts of one product share its local form
        for k in range(len(matches) - 2, -1, -1):
            first, then = matches[k], matches[k + 1]
            joined = _COMBINED.fullmatch(text[first.span[1] : then.span[0]])
            if joined and then.local and first.route is None:
                matches[k] = first.model_copy(update={"route": then.route, "local": True})

    def _suggest(self, text: str) -> list[str]:
        from immunomod import kb

        key = name_key(text)
        if not key or len(key) > 60:
            return []
        return kb.store().suggest(text)


#: Joins the parts of one product ("budesonide/formoterol", "BUDESONIDE-FORMOTEROL"); not
#: "and": in "prednisolone and mesalazine enema" the prednisolone may well be tablets, and
#: reading a systemic steroid as local would under-call immunosuppression.
_COMBINED = re.compile(r"\s*[-/]\s*")
_SEPARATE = re.compile(r"(?<!\d)\.(?!\d)|[;\n]|\b(and|with|plus|then|but)\b", re.I)


def _extend(m: Match, text: str, end: int) -> Match:
    return m.model_copy(update={"span": (m.span[0], end), "matched_text": text[m.span[0] : end]})


def _conjugate_at(toks: list[_Token], i: int) -> bool:
    """Whether token ``i`` is within two edits of a conjugate word ("vedotyn", "ozogamikin")."""
    return i < len(toks) and any(
        OSA.distance(toks[i].norm, c, score_cutoff=2) <= 2 for c in CONJUGATES
    )


def edit_limit(word: str) -> int:
    """Edits allowed for a fuzzy match: none under 5 letters, 1 up to 6, 2 from 7."""
    letters = len(word.replace(" ", ""))
    return 0 if letters < 5 else 1 if letters <= 6 else 2


def _merge_repeats(text: str, matches: list[Match]) -> list[Match]:
    """One product named twice ("adalimumab 40 MG … [Humira]") is one mention, not two."""
    out: list[Match] = []
    for m in matches:
        prev = out[-1] if out else None
        if (
            prev is not None
            and m.ingredient is not None
            and prev.ingredient == m.ingredient
            and not _SEPARATE.search(text[prev.span[1] : m.span[0]])
        ):
            continue
        out.append(m)
    return out


_BY_AMOUNT = re.compile(r"\s*(?:dose\s+)?by\s+\d", re.I)
_REDUCE_BEFORE = re.compile(
    r"\b(?:reduc\w*|decreas\w*|taper\w*|wean\w*|lower\w*|drop\w*)\W+(?:\w+\W+){0,2}$", re.I
)
_NAME_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?$")  # "Kenalog-40", "Deltacortril 5"
_UNIT_NEXT = re.compile(r"\s*(?:mg|mcg|micrograms?|g|units?|ml|%)(?![a-z])", re.I)
_LOCAL_ROUTES = frozenset(LEXICON.local.values()) - {"buccal"}


def _sig_end(text: str, end: int, clause_end: int) -> int:
    """Sigs run past a full stop when the next sentence goes on with "then" (tapers)."""
    stop = clause_end
    while stop < len(text) and re.match(r"[.;]\s*(then|followed by)\b", text[stop:], re.I):
        nxt = re.search(r"[.;\n]", text[stop + 1 :])
        stop = stop + 1 + nxt.start() if nxt else len(text)
    return stop


_LOCAL_PHRASES = {
    name_key(p): r for p, r in LEXICON.local.items() if p not in {"pr", "eye", "skin", "scalp"}
}  # the excluded words are too common to decide a route on their own
_LOCAL_RE = re.compile(
    r"(?<![\w])("
    + "|".join(re.escape(p) for p in sorted(_LOCAL_PHRASES, key=len, reverse=True))
    + r")(?![\w])"
)


#: US EHR product strings write the route as a code before a dose-form code: "PREDNISOLONE
#: ACETATE 1 % OP SUSP", "HYDROCORTISONE 2.5 % EX CREA", "BUDESONIDE ... IN AERO". Only these
#: pairs count, in any letter case (batch jobs fold case): "IN MAY" or "in the morning" are not.
_EHR_FORMS = {
    "ophthalmic": ("op", "soln susp oint emul gel"),
    "topical": ("ex", "crea oint lotn gel foam soln sham pste aero spry powd"),
    "intranasal": ("na", "susp soln spry aero"),
    "inhaled": ("in", "aero aerb aers susp nebu inh powd"),
    "otic": ("ot", "soln susp"),
    "rectal": ("re", "enem supp foam"),
}
_EHR_ROUTES = {
    f"{code} {form}": route for route, (code, forms) in _EHR_FORMS.items() for form in forms.split()
}
_EHR_ROUTE_CODE = re.compile(
    r"(?<![a-z])(" + "|".join(k.replace(" ", r"\s+") for k in sorted(_EHR_ROUTES)) + r")(?![a-z])",
    re.I,
)


@lru_cache(maxsize=16_384)
def _local_route(fragment: str) -> str | None:
    m = _LOCAL_RE.search(name_key(fragment))
    if m:
        return _LOCAL_PHRASES[m.group(1)]
    code = _EHR_ROUTE_CODE.search(fragment)
    return _EHR_ROUTES[" ".join(code.group(1).lower().split())] if code else None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _input_problem(text: str) -> str | None:
    if not text.strip():
        return "empty input: give a drug name or a text that mentions one"
    if len(text) > MAX_CHARS:
        return f"input is {len(text)} characters; the limit is {MAX_CHARS}: split it"
    if bad := _CONTROL.search(text):
        return f"input contains control character U+{ord(bad.group()):04X}: remove it"
    return None
