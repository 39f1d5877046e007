"""Interviewer coaching measured on blind sets 2 and 3 (tests/data/blind_coach2/ and blind_coach3/, see their
READMEs).

Set 2: 8 interviews
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

Set 3: 8 interviews by another helper that had read neither the detector nor sets 1 and 2, with interviewers of
varied styles (blunt, over-friendly, rambling, roundabout, joking, asking through a third party). First run
(stop 17, after every change above): must_not_ask precision 1.00, recall 0.64 (21 of 33), lawful look-alikes
flagged 0. No rule has been changed for it, so it is still blind. Its misses: a third party's situation put to
the candidate in the same sentence ("My last hire had three kids and it was tough on her, how about you?", four
of them), health asked loosely ("How's your back holding up?", "any health stuff I should know about?"),
age guessed or worked out ("You look about twenty-five, am I close?"), "your people", "holds down the fort at
home", "got out with an honorable".
"""

from __future__ import annotations

from pathlib import Path

from test_coach_blind import evaluate_blind, report_blind

DATA = Path(__file__).parent / "data" / "blind_coach2"
DATA3 = Path(__file__).parent / "data" / "blind_coach3"
FLOORS = {"must_not_ask": (0.93, 0.93)}  # precision, recall: a little below the latest measurement
FLOORS3 = {"must_not_ask": (0.95, 0.60)}  # set 3, still blind: its first run was 1.00/0.64


def test_blind_set_2_must_not_ask_meets_floors():
    mp, mr, _, _ = report_blind(DATA)
    assert mp >= FLOORS["must_not_ask"][0] and mr >= FLOORS["must_not_ask"][1], (mp, mr)


def test_blind_set_2_lawful_look_alikes_are_not_flagged_as_must_not_ask():
    assert evaluate_blind(DATA)["lawful_hits"]["must_not_ask"] == []


def test_blind_set_3_must_not_ask_meets_floors():
    mp, mr, _, _ = report_blind(DATA3)
    assert mp >= FLOORS3["must_not_ask"][0] and mr >= FLOORS3["must_not_ask"][1], (mp, mr)
    assert evaluate_blind(DATA3)["lawful_hits"]["must_not_ask"] == []
