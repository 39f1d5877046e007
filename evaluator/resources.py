"""Where bundled data lives: installed package data, or the source checkout."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The bundled `prompts/` or `rubrics/` folder, installed or in a source checkout."""
    installed = _PKG / "_data" / name
    if installed.is_dir():
        return installed
    return _PKG.parent / name


def rubrics_dir() -> Path:
    """Folder of the bundled interview guides (YAML)."""
    return data_dir("rubrics")


def prompts_dir() -> Path:
    """Folder of the prompt templates."""
    return data_dir("prompts")


def bundled_rules(name: str) -> tuple[str, str]:
    """The text of a bundled rules file (`evaluator/rules/NAME`: coaching rules, given names) and the name to show
    in errors."""
    from importlib import resources

    return resources.files("evaluator").joinpath("rules", name).read_text(encoding="utf-8"), f"evaluator/rules/{name}"


def load_must_not_ask_rules(extra: list[str | Path] | None = None):
    """The bundled must-not-ask rules with each `extra` file (a company's `--rules`) merged over them:
    the same id replaces a rule, `disable` drops one."""
    from evaluator.coach.rules import MustNotAskRules, merge_rules, parse_rules
    from evaluator.files import read_text

    extras = [(parse_rules(read_text(p, what="rules file"), str(p), MustNotAskRules), str(p)) for p in extra or []]
    return merge_rules(_bundled_must_not_ask(), extras)


@lru_cache(maxsize=1)
def _bundled_must_not_ask():
    from evaluator.coach.rules import MustNotAskRules, parse_rules

    return parse_rules(*bundled_rules("must_not_ask.yaml"), MustNotAskRules)


@lru_cache(maxsize=1)
def load_quality_rules():
    """The bundled question-quality rules (hypothetical, leading, closed; trivial questions)."""
    from evaluator.coach.rules import QualityRules, parse_rules

    return parse_rules(*bundled_rules("question_quality.yaml"), QualityRules)
