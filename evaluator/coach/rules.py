"""Coaching rules as data: the must-not-ask and question-quality rule models, parsed from YAML text.

The models are user-authored (a company's `--rules` file), so unknown keys are refused. Reading the bundled
and user files is `evaluator.resources.load_must_not_ask_rules`; this module only parses text it is given.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import PurePath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evaluator.errors import InputFileError
from evaluator.text import fold

CATEGORY_NAMES = {
    "age": "age", "family_status": "family status", "pregnancy": "pregnancy", "religion": "religion",
    "national_origin": "national origin", "race_ethnicity": "race or ethnicity",
    "disability_health": "disability or health", "sexual_orientation_gender_identity":
    "sexual orientation or gender identity", "arrest_record": "arrests", "military_discharge": "military discharge",
    "salary_history": "salary history",
}


def category_name(category: str | None) -> str:
    """A must-not-ask category slug in plain words ("family_status" -> "family status")."""
    return CATEGORY_NAMES.get(category or "", (category or "").replace("_", " "))

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_regexes(values: list[str]) -> list[str]:
    for v in values:
        try:
            re.compile(v, re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"bad regular expression {v!r}: {exc}") from None
    return values


class MustNotAskRule(_Strict):
    """One kind of question an interviewer must not ask."""

    id: str
    category: str
    patterns: list[str] = Field(min_length=1, description="Regexes searched (case-insensitive) in each sentence.")
    exceptions: list[str] = Field(default_factory=list, description="A sentence matching one is not flagged.")
    explanation: str
    lawful_alternative: str = ""

    _v = field_validator("patterns", "exceptions")(_check_regexes)


class MustNotAskRules(_Strict):
    """A must-not-ask rules file: the bundled one, or a company's `--rules` file merged over it."""

    version: str = "1"
    disable: list[str] = Field(default_factory=list, description="Rule ids to switch off (in an extra file).")
    rules: list[MustNotAskRule] = Field(default_factory=list)


class QualityRule(_Strict):
    """A question-form rule: hypothetical, leading or closed."""

    id: str
    kind: Literal["hypothetical", "leading", "closed"]
    patterns: list[str] = Field(min_length=1)
    exceptions: list[str] = Field(default_factory=list)
    explanation: str

    _v = field_validator("patterns", "exceptions")(_check_regexes)


class QualityRules(_Strict):
    """The question-quality rules file."""

    version: str = "1"
    rules: list[QualityRule]
    trivial_questions: list[str] = Field(default_factory=list)

    _v = field_validator("trivial_questions")(_check_regexes)


def parse_rules(text: str, source: str, model: type[BaseModel]):
    """A rules file's YAML `text` validated as `model` (MustNotAskRules or QualityRules); `source` names it in
    errors."""
    import yaml

    from evaluator.files import yaml_loader

    try:
        data = yaml.load(text, Loader=yaml_loader())
    except yaml.YAMLError as exc:
        from evaluator.files import yaml_syntax_error

        raise yaml_syntax_error(exc, source, InputFileError, "fix the YAML syntax") from None
    if not isinstance(data, dict):
        raise InputFileError(f"{source}: expected a mapping with a `rules:` list",
                             hint="see evaluator/rules/must_not_ask.yaml for the schema")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        rule_id = ""
        if len(err["loc"]) >= 2 and err["loc"][0] == "rules" and isinstance(err["loc"][1], int):
            try:
                rule_id = f" (rule {data['rules'][err['loc'][1]].get('id', '?')!r})"
            except Exception:  # noqa: BLE001 - best effort for the message only
                pass
        raise InputFileError(f"{source}: {loc}{rule_id}: {err['msg']}",
                             hint="rules need id, category, patterns, explanation; optional exceptions, "
                                  "lawful_alternative; no other keys") from None


def merge_rules(base: MustNotAskRules, extras: list[tuple[MustNotAskRules, str]]) -> MustNotAskRules:
    """`base` with each (rules, source name) in `extras` merged over it: the same id replaces a rule,
    `disable` drops one (an unknown id is an error naming the source)."""
    merged: dict[str, MustNotAskRule] = {r.id: r for r in base.rules}
    versions = [base.version]
    for extra, source in extras:
        versions.append(f"{PurePath(source).name}:{extra.version}")
        for rid in extra.disable:
            if rid not in merged:
                raise InputFileError(f"{source}: disable: no rule with id {rid!r}",
                                     hint="known ids: " + ", ".join(sorted(merged)))
            merged.pop(rid)
        for r in extra.rules:
            merged[r.id] = r
    return MustNotAskRules(version="+".join(versions), rules=list(merged.values()))


def match_text(s: str) -> str:
    """The form rules are matched against: Unicode-folded (straight quotes), ellipsis as '...'."""
    return fold(s).replace("\u2026", "...")


@lru_cache(maxsize=1024)
def rx(pattern: str) -> re.Pattern:
    """A rule pattern compiled (case-insensitive), cached."""
    return re.compile(pattern, re.IGNORECASE)


def first_match(patterns: list[str], text: str) -> re.Match | None:
    """The first of `patterns` (case-insensitive regexes) found in `text`, or None."""
    for p in patterns:
        m = rx(p).search(text)
        if m:
            return m
    return None

