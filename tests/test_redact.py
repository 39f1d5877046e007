"""--redact: names and contact details never reach the LLM endpoint; people see the real text.

    PYTEST_TMP_CACHE=/tmp/x .venv/bin/pytest -q -s tests/test_redact.py -k recall   # prints recall/precision
"""

from __future__ import annotations

import json
import re

import pytest
import yaml

from evaluator.redact import PLACEHOLDER, Redactor, names_in
from openai_stub import raw

from conftest import DATA

LABELLED = yaml.safe_load((DATA / "pii_labelled.yaml").read_text(encoding="utf-8"))


def _redacted_conversation():
    texts = [t for _, t in LABELLED["segments"]]
    r = Redactor(names_in(texts, [s for s, _ in LABELLED["segments"]]))
    return r, "\n".join(r.redact(t) for t in texts)


def test_redaction_recall_and_precision_on_the_labelled_list():
    r, out = _redacted_conversation()
    pii = [str(p) for p in LABELLED["pii"]]
    leaked = [p for p in pii if p in out]
    tags = PLACEHOLDER.findall(out)
    wrong = [r.back[t] for t in tags if not any(r.back[t] in p or p in r.back[t] for p in pii)]
    lost = [str(k) for k in LABELLED["keep"] if str(k) not in out]
    recall = 1 - len(leaked) / len(pii)
    precision = 1 - len(wrong) / len(tags)
    print(f"\nredaction on {len(pii)} labelled PII strings: recall {recall:.2f}, precision {precision:.2f} "
          f"({len(tags)} replacements); look-alikes kept {len(LABELLED['keep']) - len(lost)}/{len(LABELLED['keep'])}")
    assert recall >= 0.95, leaked
    assert precision >= 0.95, wrong
    assert not lost, lost


@pytest.mark.parametrize("phone", ["+44 20 7946 0958", "(415) 555-0134", "415.555.0134", "4155550134", "555-0134",
                                   "415-555-0134 ext. 12", "+1 415 555 0134", "07700 900123", "+1-415-555-0134 x204",
                                   "555 0134"])
def test_phones_in_every_common_shape_are_replaced(phone):
    out = Redactor().redact(f"Call me on {phone} tomorrow.")
    assert re.fullmatch(r"Call me on \[PHONE_1\] tomorrow\.", out), out


@pytest.mark.parametrize("text", ["We hit $52K in March.", "Retention was 94%.", "Since 2019.", "I had 160 accounts.",
                                  "Revenue of 1,250,000 dollars.", "From 2019 to 2021 and 2020-2022.",
                                  "NPS went from 31 to 58 in 12 months.", "Version 2.1.3 shipped on 12/05/2023."])
def test_money_percentages_years_and_counts_are_kept(text):
    assert Redactor().redact(text) == text


def test_names_said_in_the_conversation_are_found_when_speakers_are_only_roles():
    texts = ["Hi Marcus, thanks for coming in.", "Thanks, nice to meet you. I'm Marcus Lee.",
             "This is Dana from Rosterly.", "My manager, Greg, pushed back.", "Thanks, Priya."]
    names = names_in(texts, ["Interviewer", "Candidate"])
    assert set(names) >= {"Marcus", "Marcus Lee", "Dana", "Greg", "Priya"}
    assert not {"Interviewer", "Candidate", "Rosterly"} & set(names)
    assert names_in([], ["Dana Whitfield (Rosterly)", "SPEAKER_00", "Agent", "Interviewer 2"]) == ["Dana Whitfield"]
    r = Redactor(names)
    out = r.redact("Marcus said Lee was his family name, and Greg agreed with MARCUS. The price was fine.")
    assert "Marcus" not in out and "Lee" not in out and "Greg" not in out and "MARCUS" not in out
    assert "The price was fine." in out


def test_third_parties_named_with_no_cue_are_found_by_their_given_name_and_places_are_kept():
    texts = ["I worked with Sarah Chen on the renewal, and Sarah's team later took it over.",
             "Honestly Tomás Rivera pushed back, and it was Mei Ling Wong at Little Sprouts Academy who caught it.",
             "Will you be in San Francisco or St. Louis in May? The Priya Customer Success group met Monday."]
    names = names_in(texts, ["Interviewer", "Candidate"])
    assert {"Sarah Chen", "Tomás Rivera", "Mei Ling Wong", "Priya"} <= set(names)
    out = " ".join(Redactor(names).redact(t) for t in texts)
    for leaked in ("Sarah", "Chen", "Tomás", "Rivera", "Mei", "Ling", "Wong", "Priya"):
        assert leaked not in out, out
    for kept in ("Little Sprouts Academy", "Will you", "San Francisco", "St. Louis", "May", "Customer Success",
                 "Monday", "Honestly"):
        assert kept in out, out



def test_names_that_are_words_or_unknown_are_found_by_the_surname_after_them_and_the_word_is_kept():
    texts = ["Will Thompson ran their ops, and Grace Kim flagged it early. Will you tell me more? Grace and I wrote it up.",
             "Zanele Dlamini joined from the board; Pieter van der Berg and Maria de la Cruz's team came later.",
             "I hope that helps. Then Patel signed, after a posting at Fort Campbell. Hey Mateo, welcome.",
             "Faith Mwangi answered them. I owe Faith a lot. Faith, they said, was in São Paulo."]
    names = names_in(texts, ["Interviewer", "Candidate"])
    assert {"Will Thompson", "Grace Kim", "Zanele Dlamini", "Pieter van der Berg", "Maria de la Cruz"} <= set(names)
    assert not {"Then Patel", "Fort Campbell", "Hey Mateo"} & set(names), names
    out = " ".join(Redactor(names).redact(t) for t in texts)
    for leaked in ("Thompson", "Grace", "Kim", "Zanele", "Dlamini", "Pieter", "Berg", "Cruz", "Faith"):
        assert leaked not in out, out
    for kept in ("Will you tell me", "I hope that helps", "Fort Campbell", "São Paulo"):
        assert kept in out, out

# Blind sets of third parties named with no cue, each written by someone who had not read the redactor, with
# the name strings that must go and the look-alikes (places, companies, products, everyday words) that must stay.
# Set 1, first run (before any change made after reading it): recall 0.76 of 50 name strings, look-alikes kept
# 38 of 39; the code before it: recall 0.00. It is not blind any more: its misses were read.
# Set 2, first run (with the Faker-built name lists): recall 0.87 of 94, kept 45 of 50; the code before the lists:
# recall 0.41, kept 46 of 50. Its misses showed two bugs in the list build (Vietnamese letters dropped: "Nguyễn";
# a word of a multi-word city taken as a place: "Thai Nguyen") and one in the redactor ("I owe Faith a lot" kept
# as the word); after those and romanized Cyrillic names: recall 0.95, kept 45 of 50.
BLIND_SETS = {"pii_names_blind.yaml": (0.95, 1.0), "pii_names_blind2.yaml": (0.93, 0.9)}  # recall, kept floors


@pytest.mark.parametrize("name", list(BLIND_SETS))
def test_cue_less_names_on_the_blind_sets(name):
    """Written by someone who had not read the redactor: name recall and look-alikes kept."""
    blind = yaml.safe_load((DATA / name).read_text(encoding="utf-8"))
    texts = [t for _, t in blind["segments"]]
    r = Redactor(names_in(texts, [s for s, _ in blind["segments"]]))
    out = "\n".join(r.redact(t) for t in texts)
    names = [str(n) for n in blind["names"]]
    leaked = [n for n in names if re.search(rf"(?<!\w){re.escape(n)}(?!\w)", out)]
    lost = [str(k) for k in blind["keep"] if str(k) not in out]
    recall = 1 - len(leaked) / len(names)
    kept = 1 - len(lost) / len(blind["keep"])
    print(f"\ncue-less names, {name}: recall {recall:.2f} of {len(names)} name strings (leaked {leaked}); "
          f"look-alikes kept {kept:.2f} of {len(blind['keep'])} (lost {lost})")
    recall_floor, kept_floor = BLIND_SETS[name]
    assert recall >= recall_floor, leaked
    assert kept >= kept_floor, lost


def test_placeholders_restore_to_the_original_spelling():
    r = Redactor(["Marcus Lee"])
    text = "Marcus Lee (marcus.lee@example.com, 415-555-0134) said Marcus would call."
    red = r.redact(text)
    assert "Marcus" not in red and "@" not in red and "555" not in red
    assert r.restore(red) == text


_PII_SENTENCES = [
    "You can reach me at marcus.lee@example.com or 4155550134.",
    "My manager, Greg, saw the numbers every week.",
    "My teammate Priya Natarajan built the dashboard.",
    "Home is 1200 Market Street, Suite 400, or call 555-0134.",
    "The write-up is on https://marcuslee.dev/work if you want it.",
]


def _pii_transcript(tmp_path):
    """The strong screening sample with speakers labelled only by role, names said in the greetings,
    and a sentence of personal data in every candidate answer (so every request carries some)."""
    from evaluator.guide import load_guide
    from evaluator.inputs import load_interview

    from conftest import REPO

    t = load_interview(REPO / "samples" / "cam-screening-strong.vtt", guide=load_guide("customer-account-manager"))
    lines = ["Interviewer: Hi Marcus, thanks for joining. I'm Dana Whitfield from Rosterly.",
             "Candidate: Hi Dana, nice to meet you. I'm Marcus Lee."]
    k = 0
    for seg in t.segments:
        role = "Candidate" if seg.role.value == "candidate" else "Interviewer"
        text = seg.text
        if role == "Candidate" and len(text.split()) > 8:
            text += " " + _PII_SENTENCES[k % len(_PII_SENTENCES)]
            k += 1
        lines.append(f"{role}: {text}")
    lines.append("Interviewer: Thanks, Marcus. You can reach me at dana@rosterly.com or (415) 555-0199.")
    path = tmp_path / "interview.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


SECRETS = ["Marcus", "Lee", "Dana", "Whitfield", "Greg", "Priya", "Natarajan", "marcus.lee@example.com",
           "4155550134", "555-0134", "1200 Market Street", "marcuslee.dev", "dana@rosterly.com", "555-0199"]


def test_nothing_unredacted_reaches_the_endpoint_in_any_request(run_cli, llm_server, tmp_path):
    """Criteria, overall and re-asks: grep every request body the server received."""
    seen = {"n": 0}

    def echo_back(body):
        user = body["messages"][-1]["content"]
        seen["n"] += 1
        if seen["n"] == 1:
            return raw("{not json")  # the first answer is re-asked
        if "OVERALL RECOMMENDATION" in user:
            quotes = re.findall(r"\[(s\d+)\] \u201c(.*?)\u201d", user)
            ids = re.findall(r"^- ([a-z0-9-]+) \(", user, re.M)
            return {"score": 3, "rationale": "Overall: " + " ".join(q for _, q in quotes)[:1500], "based_on": ids,
                    "quotes": [{"segment_id": s, "quote": q} for s, q in quotes[:2]]}
        lines = re.findall(r"^\[(s\d+), [^\]]*CANDIDATE\] (.*)$", user, re.M)
        if not lines:
            return {"score": 0, "rationale": "No evidence.", "quotes": []}
        sid, words = max(lines, key=lambda x: x[1].count("["))
        # the rationale repeats the candidate's words, placeholders and all
        return {"score": 3, "rationale": f"The candidate said: {words}"[:1900],
                "quotes": [{"segment_id": sid, "quote": " ".join(words.split()[:25])}]}

    llm_server.handler = echo_back
    out = tmp_path / "draft.json"
    env = {"OPENAI_BASE_URL": llm_server.base_url, "OPENAI_API_KEY": "k", "INTERVIEW_EVAL_CACHE_DIR": str(tmp_path)}
    r = run_cli(["evaluate", _pii_transcript(tmp_path), "-g", "customer-account-manager", "--stage", "screening",
                 "--redact", "-o", out, "--concurrency", "1"], env=env)
    assert r.exit_code == 0, r.stderr
    bodies = [json.dumps(q.body, ensure_ascii=False) for q in llm_server.requests]
    assert any("OVERALL RECOMMENDATION" in b for b in bodies), "the overall request was made"
    assert any("could not be used" in b for b in bodies), "a re-ask was made"
    for secret in SECRETS:
        leaks = [i for i, b in enumerate(bodies) if secret in b]
        assert not leaks, f"{secret!r} reached the endpoint in request(s) {leaks}"
    # what people read is restored: real names in rationales, and quotes verified against the transcript
    from evaluator.scorecard import Draft

    d = Draft.model_validate_json(out.read_text(encoding="utf-8"))
    assert d.redacted
    shown = json.dumps([s.rationale for s in d.scores])
    assert "[PERSON_" not in shown and "[EMAIL_" not in shown
    assert any(secret in shown for secret in SECRETS)
    assert d.evidence.verified > 0
