"""Interviewer coaching measured on blind set 2 (tests/data/blind_coach2/, see its README): 8 interviews
written mainly for the must-not-ask detector by a helper that had not read it, with hard forms (follow-ups
that only make sense from context, embedded and softened questions, justifications) and lawful look-alikes.

First run (stop 17, before any change made after reading it): must_not_ask precision 0.88, recall 0.68
(23 of 34; the code before that stop's context rules: 0.92/0.65). Its misses were vocabulary the rules did not
have (a partner's gender with "your" between, "are you out", "did you transition", "you're Arab", "put
yourself down as Indian", mosques and temples near you, "do you celebrate Diwali", "what did your last role
pay", "young enough to be your daughter") and context ("Oh, congratulations!" ended what the candidate had said;
"who's watching her?" after maternity leave is childcare). After those were added, so no longer blind:
0.97/0.97. The one false flag left is a convention: this set does not label the reason given for a question in
its own turn ("I only ask because it lands right in the middle of that crunch"), which the coach quotes with it.
"""

from __future__ import annotations

from pathlib import Path

from test_coach_blind import evaluate_blind, report_blind

DATA = Path(__file__).parent / "data" / "blind_coach2"
FLOORS = {"must_not_ask": (0.93, 0.93)}  # precision, recall: a little below the latest measurement


def test_blind_set_2_must_not_ask_meets_floors():
    mp, mr, _, _ = report_blind(DATA)
    assert mp >= FLOORS["must_not_ask"][0] and mr >= FLOORS["must_not_ask"][1], (mp, mr)


def test_blind_set_2_lawful_look_alikes_are_not_flagged_as_must_not_ask():
    assert evaluate_blind(DATA)["lawful_hits"]["must_not_ask"] == []
