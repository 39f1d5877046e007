"""Interviewer coaching: how well was this interview conducted? Judges the interviewer, never the candidate.

Everything here is offline and rule-based: talk time from segment times (or words), structure from the
alignment to the guide, question-quality and must-not-ask flags from the YAML rules in `evaluator/rules/`.
Every figure points at the segments behind it. An optional `reviewer` hook (e.g. an LLM pass) may add
flags; each is checked against the transcript and dropped if its quote is not in an interviewer turn.

The coach takes parsed data (a transcript, a guide stage, rules) and reads no files: the rules files are
read by `evaluator.resources.load_must_not_ask_rules`, re-exported here.

Modules: `rules` (rule models, parsing), `talk` (talk time), `questions` (must-not-ask and question form),
`structure` (the guide), `recommend` (the three recommendations), `report` (report models; `evaluator.render.coach` renders them),
`run` (`coach`, `summarize`).
"""

from __future__ import annotations

from evaluator import lazy_attributes

# Names are imported on first use (PEP 562): the must-not-ask scan that `evaluate` runs needs `questions` and
# `rules`, not the report models or the coach run.
_LAZY = {
    **dict.fromkeys(["Reviewer", "find_must_not_ask", "find_question_quality", "prohibited_questions",
                     "verify_flags"], ".questions"),
    "recommend": ".recommend",
    **dict.fromkeys(["QUALITY_KINDS", "REPORT_SCHEMA_VERSION", "CoachReport", "CoachSummary", "DirectionsCheck",
                     "Flag", "FlagKind", "Interruption", "LineRef", "Monologue", "QuestionCoverage",
                     "Recommendation", "SpeakerShare", "Structure", "SummaryRow", "TalkTime"], ".report"),
    **dict.fromkeys(["CATEGORY_NAMES", "MustNotAskRule", "MustNotAskRules", "QualityRule", "QualityRules",
                     "category_name", "merge_rules", "parse_rules"], ".rules"),
    "coach": ".run", "summarize": ".run",
    "check_directions": ".structure", "check_structure": ".structure",
    "TALK_SHARE_LIMIT": ".talk", "measure_talk_time": ".talk",
    "load_must_not_ask_rules": "evaluator.resources", "load_quality_rules": "evaluator.resources",
}
__getattr__ = lazy_attributes(__name__, _LAZY)

__all__ = [
    "CATEGORY_NAMES", "QUALITY_KINDS", "REPORT_SCHEMA_VERSION", "TALK_SHARE_LIMIT", "CoachReport", "CoachSummary",
    "DirectionsCheck", "Flag", "FlagKind", "Interruption", "LineRef", "Monologue", "MustNotAskRule",
    "MustNotAskRules", "QualityRule", "QualityRules", "QuestionCoverage", "Recommendation", "Reviewer",
    "SpeakerShare", "Structure", "SummaryRow", "TalkTime", "category_name", "check_directions", "check_structure",
    "coach", "find_must_not_ask", "find_question_quality", "load_must_not_ask_rules", "load_quality_rules",
    "measure_talk_time", "merge_rules", "parse_rules", "prohibited_questions", "recommend", "summarize",
    "verify_flags",
]
