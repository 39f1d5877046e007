"""Speaker roles: from options, conventional labels, the transcript itself, or the conversation."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluator.errors import UsageError
from evaluator.formats import parse_transcript, read_transcript
from evaluator.roles import WEAK_CONFIDENCE, assign_roles, infer_roles_per_segment, is_question, label_role
from evaluator.transcript import Role, RoleAssignment

DATA = Path(__file__).resolve().parent / "data" / "transcripts"

# The screening questions of the Customer Account Manager guide (shared/seeds), as a guide gives them.
SCREENING_QUESTIONS = [
    "Are you legally authorized to work in [country] without sponsorship?",
    "Tell me about your most recent role in customer success or account management. "
    "What were your key responsibilities and performance metrics?",
    "How comfortable are you with high-volume outreach, such as making 60-70 calls per day?",
    "Can you give me an example of how you've used data to inform your customer retention strategies?",
    "Tell me about a time when you successfully upsold a customer. What was your approach?",
    "How do you stay current with industry trends, especially in the education technology sector?",
    "What questions do you have about the role or our company?",
]

INTERVIEWS = {
    "zoom_screening.vtt": ("Dana Reyes", "Sam Patel"),
    "teams_screening.vtt": ("Morgan Blake", "Jamie O'Connor"),
    "meet_screening.vtt": ("Alex Kim", "Riley Chen"),
    "otter_screening.txt": ("Speaker 1", "Speaker 2"),
    "plain_screening.txt": ("Dana Reyes", "Chris Novak"),
}


def _roles(t) -> dict[str, Role]:
    return {ra.speaker: ra.role for ra in t.meta.roles}


# ---------------------------------------------------------------- labels


@pytest.mark.parametrize(
    "label, role",
    [
        ("Interviewer", Role.interviewer),
        ("Interviewer 2", Role.interviewer),
        ("interviewee", Role.candidate),
        ("Candidate", Role.candidate),
        ("Applicant", Role.candidate),
        ("Host", Role.interviewer),
        ("Guest", Role.candidate),
        ("Recruiter", Role.interviewer),
        ("Dana Reyes (Recruiter)", Role.interviewer),
        ("Hiring Manager", Role.interviewer),
        ("Customer", Role.interviewer),  # role-play: the interviewer plays the customer
        ("Agent", Role.candidate),
        ("Account Manager", Role.candidate),
        ("Customer Account Manager", Role.candidate),  # the longest label wins over "Customer"
        ("CSM", Role.candidate),
    ],
)
def test_conventional_labels_imply_roles(label, role):
    found = label_role(label)
    assert found is not None and found[0] == role


@pytest.mark.parametrize("label", ["Dana Reyes", "Hostetler", "Speaker 1", "SPEAKER_00", ""])
def test_names_are_not_labels(label):
    assert label_role(label) is None


def test_srt_with_interviewer_and_candidate_labels_gets_label_roles():
    t = assign_roles(read_transcript(DATA / "screening.srt"))
    assert _roles(t) == {"Interviewer": Role.interviewer, "Candidate": Role.candidate}
    assert all(ra.method == "label" for ra in t.meta.roles)
    assert all(s.role == (Role.interviewer if s.speaker == "Interviewer" else Role.candidate) for s in t.segments)


def test_role_play_customer_is_the_interviewer_and_account_manager_the_candidate():
    t = assign_roles(read_transcript(DATA / "roleplay_work_sample.txt"))
    assert _roles(t) == {"Customer": Role.interviewer, "Account Manager": Role.candidate}
    customer = next(ra for ra in t.meta.roles if ra.speaker == "Customer")
    assert "role-play" in customer.evidence and "plays the customer" in customer.evidence
    assert t.by_role(Role.candidate)[0].text.startswith("Thanks for calling, Pat.")


# ---------------------------------------------------------------- inference


@pytest.mark.parametrize("name", sorted(INTERVIEWS))
def test_the_speaker_asking_the_guide_questions_is_the_interviewer(name):
    interviewer, candidate = INTERVIEWS[name]
    t = assign_roles(read_transcript(DATA / name), question_texts=SCREENING_QUESTIONS)
    assert _roles(t) == {interviewer: Role.interviewer, candidate: Role.candidate}
    ra = next(r for r in t.meta.roles if r.speaker == interviewer)
    assert ra.method == "inferred" and ra.confidence >= WEAK_CONFIDENCE
    assert "guide questions" in ra.evidence and "question turns" in ra.evidence
    assert not any(w.startswith("roles:") for w in t.meta.warnings)
    assert all(s.role != Role.unknown for s in t.segments)


@pytest.mark.parametrize("name", sorted(INTERVIEWS))
def test_question_turns_alone_find_the_interviewer_without_a_guide(name):
    interviewer, candidate = INTERVIEWS[name]
    t = assign_roles(read_transcript(DATA / name))
    assert _roles(t) == {interviewer: Role.interviewer, candidate: Role.candidate}


def test_evidence_counts_guide_questions_and_question_turns():
    t = assign_roles(read_transcript(DATA / "zoom_screening.vtt"), question_texts=SCREENING_QUESTIONS)
    dana = next(r for r in t.meta.roles if r.speaker == "Dana Reyes")
    # Zoom excerpt: asks 5 of the 7 guide questions ("[country]" filled in as "the United States").
    assert dana.evidence.startswith("asked 5/7 guide questions, 7 of 8 question turns")


def test_a_third_speaker_is_other():
    text = (
        "[00:00:01] Dana: Are you legally authorized to work in the US without sponsorship?\n"
        "[00:00:05] Sam: Yes, I am, and I have been working here for six years now.\n"
        "[00:00:09] Lee: Sorry, joining late.\n"
        "[00:00:11] Dana: How comfortable are you with high-volume outreach?\n"
        "[00:00:15] Sam: Very comfortable, I make sixty calls a day in my current job and enjoy it.\n"
        "[00:00:20] Lee: Thanks.\n"
    )
    t = assign_roles(parse_transcript(text, "txt"), question_texts=SCREENING_QUESTIONS)
    assert _roles(t) == {"Dana": Role.interviewer, "Sam": Role.candidate, "Lee": Role.other}


def test_weak_inference_adds_a_warning_naming_the_speaker_and_the_fix():
    text = (
        "[00:00:01] Ana: What do you think about the weather today?\n"
        "[00:00:05] Ben: Nice. What do you think about lunch?\n"
        "[00:00:09] Ana: Good. Why do you ask?\n"
        "[00:00:12] Ben: Curious. How was your weekend?\n"
    )
    t = assign_roles(parse_transcript(text, "txt"))
    iv = next(r for r in t.meta.roles if r.role == Role.interviewer)
    assert iv.confidence < WEAK_CONFIDENCE
    assert any(w.startswith("roles:") and repr(iv.speaker) in w and "--interviewer" in w for w in t.meta.warnings)


def test_without_any_questions_the_first_speaker_is_guessed_with_low_confidence():
    text = "[00:00:01] Ana: Hello.\n[00:00:03] Ben: Hi there, nice to meet you.\n"
    t = assign_roles(parse_transcript(text, "txt"))
    ana = t.meta.roles[0]
    assert (ana.speaker, ana.role, ana.confidence) == ("Ana", Role.interviewer, 0.3)
    assert "no question turns" in ana.evidence
    assert any("low confidence" in w for w in t.meta.warnings)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Are you legally authorized to work here?", True),
        ("Great. Tell me about your last role.", True),
        ("How is the territory split between account managers.", True),  # the "?" was lost
        ("What I did was call them every Monday.", False),
        ("I called them first. It worked.", False),
        ("", False),
    ],
)
def test_question_like_turns(text, expected):
    assert is_question(text) is expected


# ---------------------------------------------------------------- options


def test_options_match_speakers_case_insensitively_and_win_over_inference():
    t = read_transcript(DATA / "zoom_screening.vtt")
    out = assign_roles(t, interviewer=["sam patel"], candidate=["DANA REYES"])
    assert _roles(out) == {"Dana Reyes": Role.candidate, "Sam Patel": Role.interviewer}
    assert {ra.method for ra in out.meta.roles} == {"option"}


def test_one_option_lets_the_other_main_speaker_be_the_candidate():
    out = assign_roles(read_transcript(DATA / "teams_screening.vtt"), interviewer="Morgan Blake")
    assert _roles(out) == {"Morgan Blake": Role.interviewer, "Jamie O'Connor": Role.candidate}
    jamie = next(r for r in out.meta.roles if r.speaker == "Jamie O'Connor")
    assert jamie.method == "inferred" and "other main speaker" in jamie.evidence


def test_option_naming_an_absent_speaker_is_a_usage_error_listing_speakers():
    with pytest.raises(UsageError, match=r"--interviewer 'Bob': no such speaker.*'Dana Reyes', 'Sam Patel'"):
        assign_roles(read_transcript(DATA / "zoom_screening.vtt"), interviewer=["Bob"])


def test_the_same_speaker_in_both_roles_is_a_usage_error():
    with pytest.raises(UsageError, match="both --interviewer and --candidate"):
        assign_roles(read_transcript(DATA / "zoom_screening.vtt"), interviewer=["Sam Patel"], candidate=["sam patel"])


def test_options_on_a_transcript_without_speakers_say_there_are_none():
    with pytest.raises(UsageError, match="no speaker labels"):
        assign_roles(read_transcript(DATA / "mono_no_speakers.txt"), candidate=["Sam"])


# ---------------------------------------------------------------- roles already present


def test_roles_already_in_the_transcript_are_kept_with_their_assignment():
    t = read_transcript(DATA / "zoom_screening.vtt")
    for s in t.segments:
        s.role = Role.candidate if s.speaker == "Dana Reyes" else Role.interviewer  # deliberately "wrong"
    t.meta.roles = [RoleAssignment(speaker="Dana Reyes", role=Role.candidate, method="channel", evidence="left")]
    out = assign_roles(t, question_texts=SCREENING_QUESTIONS)
    assert _roles(out) == {"Dana Reyes": Role.candidate, "Sam Patel": Role.interviewer}
    assert out.meta.roles[0].method == "channel"
    assert out.meta.roles[1].method == "source"


def test_options_override_roles_already_in_the_transcript():
    t = assign_roles(read_transcript(DATA / "zoom_screening.vtt"))
    out = assign_roles(t, interviewer=["Sam Patel"], candidate=["Dana Reyes"])
    assert _roles(out) == {"Dana Reyes": Role.candidate, "Sam Patel": Role.interviewer}


def test_assign_roles_does_not_change_its_input():
    t = read_transcript(DATA / "zoom_screening.vtt")
    assign_roles(t)
    assert all(s.role == Role.unknown for s in t.segments) and t.meta.roles == []


# ---------------------------------------------------------------- per segment (no speakers)


def test_per_segment_roles_for_a_transcript_without_speakers():
    t = infer_roles_per_segment(read_transcript(DATA / "mono_no_speakers.txt"), question_texts=SCREENING_QUESTIONS)
    roles = [s.role for s in t.segments]
    assert roles[:7] == [Role.interviewer, Role.candidate] * 3 + [Role.interviewer]
    assert any("guessed per segment" in w for w in t.meta.warnings)
    (ra,) = t.meta.roles
    assert ra.method == "inferred-per-segment" and "as interviewer" in ra.evidence


def test_assign_roles_falls_back_to_per_segment_guessing_without_speakers():
    t = assign_roles(read_transcript(DATA / "mono_no_speakers.txt"))
    assert t.segments[0].role == Role.interviewer and t.segments[1].role == Role.candidate
    assert any("guessed per segment" in w for w in t.meta.warnings)


def test_long_answers_ending_with_a_question_stay_candidate_per_segment():
    long_answer = ("I ran the renewals for about two hundred accounts " * 8) + "does that make sense?"
    t = parse_transcript(f"[00:00:01] What was your retention rate?\n[00:00:05] {long_answer}\n", "txt")
    out = infer_roles_per_segment(t)
    assert [s.role for s in out.segments] == [Role.interviewer, Role.candidate]
