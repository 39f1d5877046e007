"""Judging the interviewer's questions: questions that must not be asked, and question form (hypothetical,
leading, closed, stacked). Also the gate every non-rule (LLM) flag goes through."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable

from evaluator.findings import Flag
from evaluator.coach.rules import (
    MustNotAskRule,
    MustNotAskRules,
    QualityRule,
    QualityRules,
    first_match,
    match_text,
    rx,
)
from evaluator.text import content_words, fmt_time, normalize, sentences, words
from evaluator.transcript import Role, Segment, Transcript

if TYPE_CHECKING:
    from evaluator.coach.report import CoachReport


def _word_similarity(a: str, b: str) -> tuple[float, int]:
    """Share of `a`'s content words that have a near match in `b` (handles 'upsell'/'upsold'), and how many."""
    from rapidfuzz import fuzz

    wa = list(dict.fromkeys(content_words(a)))
    wb = set(content_words(b))
    if not wa or not wb:
        return 0.0, 0
    hits = sum(1 for w in wa if w in wb or any(fuzz.ratio(w, x) >= 80 for x in wb if abs(len(w) - len(x)) <= 3))
    return hits / len(wa), hits


# ---------------------------------------------------------------- must not ask


def _bundled_must_not_ask() -> MustNotAskRules:
    from evaluator.resources import load_must_not_ask_rules

    return load_must_not_ask_rules()


def _quality_rules() -> QualityRules:
    from evaluator.resources import load_quality_rules

    return load_quality_rules()


# A must-not-ask flag needs three things in one interviewer sentence: (a) it asks (a question, or a request
# or probe for information: "tell me...", "just curious whether...", "I assume you don't..."), (b) about the
# candidate or their household, not about customers, the company, its benefits or other people, and (c) a
# protected topic (a rule's pattern). Statements (a company pitch, the benefits, small talk) and anything
# the candidate says are never flagged.

_LEAD = r"^(?:(?:and|so|but|also|okay|ok|alright|now|well|oh|um|uh|just|then|right|great|sorry|last thing|" \
        r"one more thing|quick question|out of curiosity|by the way)[,:]?\s+)*"
# A question whose "?" the transcriber dropped opens with a question word and a verb, or an auxiliary and a
# subject ("where did you", "are you"), on the words as written: `roles.is_question` (a turn-level test for
# role inference) reads "Where we're located, ..." as "where were" and so as a question.
_ASK_START = re.compile(
    _LEAD + r"(?:(?:how|what|where|when|which|who|whose|why)(?:'s|'d|'re)?\s+(?:is|are|was|were|do|does|did|"
    r"would|could|can|will|have|has|had|should|old|many|much|long|often|year|kind|sort|type|country|church|"
    r"languages?|holidays?)\b|(?:how|what|where|when|who|which)'(?:s|d|re)\b|"
    r"(?:are|were|is|was|do|does|did|have|has|had|will|would|could|can|should)\s+(?:you|your|there|they|that|it|"
    r"anyone|someone)\b|(?:any|ever)\b)", re.I)
_REQUEST = re.compile(
    r"\b(tell me|i'?d (like|love) to (know|hear)|i (want|need|have|had) to (know|ask)|"
    r"mind (me asking|my asking|sharing|telling|if i ask)|(can|could|would) you (share|tell|let me know)|"
    r"let me know (if|whether|what|how|who|when|where)|fill me in|remind me|correct me if|"
    r"(just |i'?m |i was |i'?m just )curious|curious (whether|if|about|what|how|where|who|when)|"
    r"i (was )?wonder(ed|ing)? (whether|if|what|where|how|who|when)|i'?m wondering|"
    r"i (assume|presume|suppose|gather|imagine|bet|take it|guess)|i'?m (assuming|guessing|presuming|betting)|"
    r"i'?d (guess|imagine|assume|bet))\b", re.I)
_PROBE_START = re.compile(_LEAD + r"(?:you (must|probably|obviously|clearly)\b|"
                          r"you'?(re|ve) (probably|obviously|clearly|not)\b|"
                          r"so you('re| are| were| must| don'?t| aren'?t| weren'?t| haven'?t| never| grew)\b)", re.I)
# "You don't have kids. Right?": a statement made into a question by the tag after it.
_TAG = re.compile(r"^(right|correct|yes|yeah|no|true|am i right|is that right|is that so|is that true|is it|is he|"
                  r"is she|or not|don'?t you|do you|aren'?t you|are you|isn'?t it|yeah\?? or no)\s*\?$", re.I)
# "You mentioned your daughter. How old is she?": a short question that asks about what the previous
# sentence named.
_FOLLOW_UP = re.compile(
    _LEAD + r"(?:how old (is|are|was|were) (he|she|they|it)|how many (of them|do you have)\b|what (are|were|is|'s) "
    r"(his|her|their) names?|who(?:'s| is|'ll| will)? (watches|watching|watch|looks after|looking after|look after|"
    r"takes care of|taking care of|minds|minding|picks up|picking up|is watching|covers|covering|cover|will cover|"
    r"will watch|is covering) (him|her|them)|"
    r"where(?:'s| is| are|'re| was| were| did| do| does)? (it|that|he|she|they|them)\b.*\b(from|born|grow up|"
    r"grew up|raised)|what (does|do|did) (he|she|they) do|when (is|are) (he|she|it|they|the baby) due|"
    r"(is|are|was|were) (he|she|they|it|that) (yours|from|born|still|married|religious|expecting))\b", re.I)
_FOLLOW_UP_MAX_WORDS = 10

_SECOND_PERSON = frozenset("you your yours yourself yourselves youre youve youd youll ya yall".split())
# Words naming someone other than the candidate: the interviewer, the company, customers and colleagues.
_OTHERS = frozenset("""i me my mine we us our ours they them their theirs he him his she her hers
    customer customers client clients account accounts user users buyer buyers champion champions stakeholder
    stakeholders team teams rep reps colleague colleagues coworker coworkers manager managers boss employer company
    companys companies school schools district districts center centers centre centres director directors
    principal principals teacher teachers student students staff employee employees member members org
    organization organisation contact contacts admin admins owner owners caller callers patient patients""".split())
# The candidate's household: "your parents", "your kids" are the candidate's; bare "parents" are not.
_HOUSEHOLD = frozenset("""kids kid children child husband wife spouse partner son sons daughter daughters mom
    mother dad father grandparents relatives ancestors boyfriend girlfriend fiance fiancee baby""".split())
# ... and bare "parents", "families" are usually customers (of a school, a childcare center).
_HOUSEHOLD_OR_CUSTOMERS = frozenset("parents parent family families folks people".split())
# "partner" is a household member after these words, else a business partner ("your finance partner").
_PARTNER_OF = frozenset("your you a the any or and my his her their our life domestic".split())
# A topic word used as a modifier of a business noun is about the business: "childcare centers",
# "parental leave policy", "health coverage", "retirement communities".
_BUSINESS_HEAD = re.compile(
    # not a person's role: "the only Black account manager", "a Muslim sales rep"
    r"^\W*(?![\w-]+\s+(managers?|executives?|reps?|representatives?|leads?|directors?|specialists?|persons?|people|"
    r"members?|wom[ae]n|m[ae]n|guys?)\b)"
    r"(software|industry|market|markets|sector|space|business|businesses|vertical|product|products|platform|"
    r"app|apps|solution|solutions|provider|providers|operator|operators|chain|chains|program|programs|center|"
    r"centers|centre|centres|facility|facilities|franchise|franchises|compan(y|ies)|customers?|clients?|accounts?|"
    r"owners?|directors?|staff|workers|teachers|benefits?|polic(y|ies)|coverage|insurance|communit(y|ies)|"
    r"homes?|schools?|organi[sz]ations?|groups?|sites?|locations?|brands?|vendors?|partners?|districts?|"
    r"features?|modules?|tools?|reminders?|tracking|management|records|data|workflows?|reports?|dashboards?|"
    r"alerts?|systems?|services?|agenc(y|ies)|add-?ons?|integrations?)\b", re.I)
_SCAN_WORDS = 12
# "I" asking ("I assume...", "I have to ask...") is the asker, not the owner of what is asked about.
_ASKING = re.compile(r"^i (assume|presume|suppose|gather|imagine|bet|take it|guess|wonder|wondered|noticed|notice|"
                     r"think|hear|heard|see|saw|just|only|was wondering|have to|need to|want to|would like|ask|love|"
                     r"like|adore|couldnt help)\b")
_ASKER = frozenset("i we me us".split())


def _asks(sent: str, next_sent: str | None) -> bool:
    """(a) The sentence asks: a question, a request for information, a probe, or a statement with a tag."""
    text = sent.strip()
    if text.endswith("?") or _ASK_START.match(text) or _REQUEST.search(text) or _PROBE_START.match(text):
        return True
    return next_sent is not None and bool(_TAG.match(next_sent.strip()))


def _owner(words_: list[str], i: int) -> str | None:
    """'candidate', 'other' or None for the word at `i`: who it names."""
    w = words_[i]
    prev, nxt = (words_[i - 1] if i else ""), (words_[i + 1] if i + 1 < len(words_) else "")
    if w == "your" and (nxt in _OTHERS or nxt.rstrip("s") in _OTHERS):
        return "other"  # "your customers", "your team"
    if w in _SECOND_PERSON:
        return "candidate"
    if w == "partner" and prev not in _PARTNER_OF:
        return "other"  # "your finance partner", "a business partner"
    if w in _HOUSEHOLD or w in _HOUSEHOLD_OR_CUSTOMERS:
        if prev in ("your", "you"):
            return "candidate"
        return "other" if w in _HOUSEHOLD_OR_CUSTOMERS else None
    if w in _OTHERS or (len(w) > 3 and w.endswith("s") and w[:-1] in _OTHERS):
        return "other"
    return None


def _about_candidate(text: str, m: re.Match, *, named: bool = False, anyone: bool = False) -> bool:
    """(b) The topic matched at `m` is the candidate's: named with "you"/"your", or nobody else's nearby.
    With `named`, "you"/"your" must be in the match or just before it ("your kids", "you're expecting"); with
    `anyone`, whoever's it is, as long as it is not a business's ("maternity leave", not "parental leave policy")."""
    inside = normalize(m.group(0)).split()
    if any(w in _SECOND_PERSON for w in inside):
        return True
    if _BUSINESS_HEAD.match(text[m.end():]):
        return False
    if anyone:
        return True
    before = normalize(text[:m.start()]).split()
    if named:
        return any(w in _SECOND_PERSON for w in before[-2:])
    for i in range(len(before) - 1, max(-1, len(before) - 1 - _SCAN_WORDS), -1):
        if before[i] == "i" and _ASKING.match(" ".join(before[i:i + 3])):
            continue
        who = _owner(before, i)
        if who is not None:
            return who == "candidate"
    after = normalize(text[m.end():]).split()
    for i in range(min(len(after), _SCAN_WORDS)):
        if after[i] in _ASKER:
            continue  # "any run-ins with the police I should know about?": the asker, not the topic's owner
        who = _owner(after, i)
        if who is not None:
            return who == "candidate"
    return True  # nobody else named: the interviewer is asking the candidate


def _topic(rule: MustNotAskRule, text: str, *, named: bool = False, anyone: bool = False) -> bool:
    """(c) and (b): a pattern of `rule` matches `text` about the candidate (about anyone, with `anyone`), and no
    exception does."""
    if first_match(rule.exceptions, text):
        return False
    return any(_about_candidate(text, m, named=named, anyone=anyone) for p in rule.patterns
               for m in rx(p).finditer(text))


def find_must_not_ask(t: Transcript, rules: MustNotAskRules | None = None) -> list[Flag]:
    """Interviewer questions (or requests for information) to the candidate about a protected characteristic of
    the candidate or their household. One flag per segment and category.

    Only interviewer turns are judged: a candidate volunteering personal information is never flagged, and
    neither is an interviewer's statement (a company pitch, the benefits, small talk) or a question about
    customers, the company or other people. A question that follows the topic up ("Oh, how old are they?"
    after the candidate mentions their kids; "Even something silly in college?" after "Ever been arrested?";
    "does he work too?" while the questions stay personal after the candidate named a husband) is flagged
    with it, and so is a question that puts to the candidate what the sentence before it named ("three went
    out on maternity leave. Is that on the horizon for you?") and the reason given for a flagged question
    ("I only ask because...", in the same turn or the next).
    """
    rules = rules or _bundled_must_not_ask()
    flags: list[Flag] = []
    asked_before: list[MustNotAskRule] = []  # what the interviewer's last question touched
    # What the candidate said since the interviewer last asked something lawful, in the second person ("my
    # husband" -> "your husband"): while the questions stay personal, "does he work too?" still refers to it.
    said: list[str] = []
    for seg in t.segments:
        if seg.role == Role.candidate:
            said.append(_second_person(match_text(seg.text)))
        if seg.role != Role.interviewer:
            continue
        sents = sentences(seg.text)
        hits: dict[str, tuple[MustNotAskRule, list[str]]] = {}
        lawful_question = False
        for i, sent in enumerate(sents):
            nxt = sents[i + 1] if i + 1 < len(sents) else None
            text = match_text(sent)
            if asked_before and _JUSTIFIES.match(text):  # "I only ask because...": part of what was asked
                _add_hits(hits, [r for r in rules.rules if _topic(r, text, anyone=True)] or asked_before, [sent])
                continue
            asks = _asks(sent, nxt)
            follow_up = not asks and nxt is not None and nxt.rstrip().endswith("?") and _asks_about_it(nxt)
            if not (asks or follow_up):
                continue
            quote = [sent] + ([nxt] if nxt is not None and (follow_up or _TAG.match(nxt.strip())) else [])
            found = [rule for rule in rules.rules if _topic(rule, text)]
            if asks and not found and not any(first_match(rule.patterns, text) for rule in rules.rules):
                # what the candidate said is what a question refers to only when nothing came between but an
                # acknowledgement ("Of course, of course. And does he work too?"), not "Travel... Does that work?"
                just_said = not any(len(words(p)) > _ACK_MAX_WORDS for p in sents[:i])
                found = _followed_up(text, asked_before, said if just_said else [], rules,
                                     match_text(sents[i - 1]) if i else "")
                if found and i and not any(_topic(r, text) for r in found):
                    quote = [sents[i - 1]] + quote  # "three went on maternity leave. Is that on the horizon for you?"
            _add_hits(hits, found, quote)
            if asks:
                asked_before = found
                lawful_question = lawful_question or not found
        if lawful_question:  # a statement ("Oh, congratulations!") or a personal question keeps the context
            said = []
        for category, (rule, sents_) in hits.items():
            flags.append(Flag(kind="must_not_ask", rule_id=rule.id, category=category, segment_id=seg.id,
                              start_s=seg.start_s, time=fmt_time(seg.start_s), line=seg.text,
                              quote=" ".join(sents_), explanation=" ".join(rule.explanation.split()),
                              lawful_alternative=" ".join(rule.lawful_alternative.split()) or None))
    return flags


def _add_hits(hits: dict[str, tuple[MustNotAskRule, list[str]]], found: list[MustNotAskRule],
              quote: list[str]) -> None:
    """Record `quote` under each found rule's category: one flag a turn and category, its sentences once each."""
    for rule in found:
        entry = hits.setdefault(rule.category, (rule, []))
        entry[1].extend(q for q in quote if q not in entry[1])


# A question about something named before: "Is that Irish?", "does he work too?", "how old are they?".
_ABOUT_IT = re.compile(_LEAD + r"(?:(is|was|are|were|does|did|do|will|would) (that|it|this|he|she|they)\b)", re.I)
_REFERS = re.compile(r"\b(that|it|this|they|them|he|him|she|her|those)\b", re.I)
# A question that puts what was just named to the candidate: "is that on the horizon for you?", "would that be
# you too?", "is that something you're planning?"
_ABOUT_THAT_FOR_YOU = re.compile(r"\b(that|this|it)\b[^.?!]*\b(you|your|yourself)\b|"
                                 r"\b(you|your)\b[^.?!]*\b(that|this)\b\s*\?", re.I)
_REFERS_MAX_WORDS = 12
_WHO_MINDS = re.compile(r"\bwho(?:'s| is|'ll| will)? (watch|look after|take care of|mind|pick up|cover)\w*", re.I)
_ACK_MAX_WORDS = 4  # "Of course, of course.", "Totally, sorry.", "Ha, true."
# The interviewer saying why they asked: the reason is part of the question ("I only ask because...").
_JUSTIFIES = re.compile(_LEAD + r"(?:(?:of course|totally|sure|no worries|sorry)[,.!]?\s+)*(?:i (?:only |just )?"
                        r"(?:ask|asked|bring (?:it|this|that) up|mention (?:it|this|that))|i'?m (?:only |just )?asking|"
                        r"the (?:only )?reason i(?:'m)? ask(?:ing)?(?: is)?|it'?s on my mind) "
                        r"(?:because|since|as|'cause|cause)\b", re.I)
_ELLIPTICAL_WORDS = 6
_FIRST_PERSON = [(re.compile(p, re.I), r) for p, r in (
    (r"\bI'm\b", "you're"), (r"\bI've\b", "you've"), (r"\bI'd\b", "you'd"), (r"\bI'll\b", "you'll"),
    (r"\bI am\b", "you are"), (r"\bI\b", "you"), (r"\bmy\b", "your"), (r"\bme\b", "you"),
    (r"\bmyself\b", "yourself"), (r"\bmine\b", "yours"))]


def _second_person(text: str) -> str:
    """The candidate's words as if said to them ("my kids" -> "your kids"), so the rules' patterns apply."""
    for pattern, repl in _FIRST_PERSON:
        text = pattern.sub(repl, text)
    return text


def _asks_about_it(sent: str) -> bool:
    """A short question about something just named: an attribute ("how old are they?", "who watches them?")
    or what it is ("Is that Irish?")."""
    text = match_text(sent)
    return len(words(text)) <= _FOLLOW_UP_MAX_WORDS and bool(_FOLLOW_UP.match(text) or _ABOUT_IT.match(text))


def _followed_up(text: str, asked_before: list[MustNotAskRule], said: list[str], rules: MustNotAskRules,
                 before: str = "") -> list[MustNotAskRule]:
    """The rules a question with no topic of its own follows up: the interviewer's last question's ("Do you have
    little ones?" ... "Who watches them while you're on the phones?"), what the candidate said about themselves
    or their household (`said`, oldest first; the latest turn that names something: "my kids get out at four" ->
    "Oh, how old are they?"), or what the sentence `before` it in the same turn named, about anyone ("three
    people went out on maternity leave. So I have to ask, is that on the horizon for you?"). Who minds a child
    is family status whatever led to it ("I took maternity leave" ... "who's watching her?")."""
    if asked_before and len(words(text)) <= _FOLLOW_UP_MAX_WORDS and _FOLLOW_UP.match(text):
        return asked_before
    if said and _asks_about_it(text):
        for turn in reversed(said):
            found = [rule for rule in rules.rules if _topic(rule, turn, named=True)]
            if found:
                if _WHO_MINDS.search(text):
                    return [r for r in rules.rules if r.category == "family_status"][:1] or found
                return found
    if before and _ABOUT_THAT_FOR_YOU.search(text) and len(words(text)) <= _REFERS_MAX_WORDS:
        return [rule for rule in rules.rules if _topic(rule, before, anyone=True)]
    return []


def prohibited_questions(transcript: Transcript, rules: MustNotAskRules | None = None) -> list[Flag]:
    """The questions that must not be asked in an interview whose roles are set (by `roles.assign_roles`),
    each with its segment and time: for the draft scorecard and the coverage audit, which show them next to
    their own results. `rules` default to the bundled ones. The same flags as the coaching report's."""
    return find_must_not_ask(transcript, rules)


# ---------------------------------------------------------------- question quality

_PAST_BEHAVIOUR = re.compile(
    r"^\s*(tell me about (a|an|the) (time|situation|occasion|example)|describe (a|an) (time|situation|occasion)|"
    r"give me (an|a) (example|instance)|can you give me an example|walk me through (a|an) (time|situation|example)|"
    r"tell me about your most)|\b(did you|have you|you've|you have had|was it|were you)\b",
    re.IGNORECASE)
_AVOID_HYPOTHETICAL = re.compile(r"avoid hypothetical|past (experiences?|behaviou?r)|specific experiences from your "
                                 r"past", re.IGNORECASE)
# "..., and what ..." joins two questions; "..., or did you ..." is usually one either/or question.
_CLAUSE_SPLIT = re.compile(r",\s*and\s+(?=(?:what|how|why|who|when|where|which|did|do|does|were|was|are|is|"
                           r"have|had|could|would|can)\b)", re.IGNORECASE)
_YES_NO = re.compile(r"\b(yes|yeah|yep|yup|no|nope|nah|partly|sure|correct|once|sometimes|not really|a little|"
                     r"definitely|absolutely|of course|i did|i have|i was)\b", re.IGNORECASE)


def _stage_questions(stage) -> list[tuple[str, str]]:
    """(id, text) of the stage's questions and their follow-ups (follow-ups keep the question's id)."""
    out: list[tuple[str, str]] = []
    for q in (stage.questions if stage is not None else []):
        out.append((q.id, q.text))
        out += [(q.id, f) for f in q.follow_ups]
    return out


def _is_closed_text(text: str) -> bool:
    rules = [r for r in _quality_rules().rules if r.kind == "closed"]
    return any(first_match(r.patterns, match_text(s)) and not first_match(r.exceptions, match_text(s))
               for r in rules for s in sentences(text))


def _best_guide_match(sentence: str, stage, *, only_past: bool = False) -> tuple[Any, float, int]:
    best = (None, 0.0, 0)
    for q in (stage.questions if stage is not None else []):
        if only_past and not _PAST_BEHAVIOUR.search(q.text):
            continue
        for text in [q.text, *q.follow_ups]:
            score, hits = _word_similarity(sentence, text)
            if (score, hits) > (best[1], best[2]):
                best = (q, score, hits)
    return best


def _is_guide_text(sentence: str, stage) -> bool:
    """True when the sentence is (nearly) the guide's own wording of a question or follow-up."""
    from rapidfuzz import fuzz

    s = normalize(sentence)
    if len(s.split()) < 3:
        return False
    for _, text in _stage_questions(stage):
        if fuzz.partial_ratio(s, normalize(text)) >= 88 and len(s) <= len(normalize(text)) + 10:
            return True
    return False


def _hypothetical_applies(stage) -> bool:
    if stage is None:
        return True
    if stage.kind.value in ("work-sample", "reference-check", "debrief"):
        return False
    if _AVOID_HYPOTHETICAL.search(stage.directions_interviewer):
        return True
    return any(_PAST_BEHAVIOUR.search(q.text) for q in stage.questions)


def _is_role_play(stage) -> bool:
    return stage is not None and stage.kind.value == "work-sample"


def _next_reply(t: Transcript, seg: Segment) -> Segment | None:
    idx = t.segments.index(seg)
    for nxt in t.segments[idx + 1:]:
        if nxt.role == Role.candidate:
            return nxt
        if nxt.role == Role.interviewer:
            return None
    return None


def _short_yes_no(reply: Segment | None) -> bool:
    if reply is None:
        return False
    w = words(reply.text)
    return 0 < len(w) <= 6 and bool(_YES_NO.search(reply.text))


def find_question_quality(t: Transcript, stage=None, *, skip_segments: set[str] | None = None) -> list[Flag]:
    """Hypothetical, leading, closed and stacked questions in the interviewer's turns.

    - hypothetical: only where the stage asks for past behaviour (not in role-plays, debriefs, reference checks);
    - closed: a yes/no question that stands in for an open guide question, probes experience with "ever",
      or got a bare yes/no reply (logistics such as work authorisation or schedule are fine);
    - stacked: two or more real questions in one turn, not counting the guide's own wording;
    - at most one of hypothetical/leading/closed per turn (the first that applies in that order), plus stacked.
    Segments in `skip_segments` (e.g. already flagged must-not-ask) are not judged for form.
    """
    qrules = _quality_rules()
    skip = skip_segments or set()
    if _is_role_play(stage):
        return []
    hyp_ok = _hypothetical_applies(stage)
    by_kind = {k: [r for r in qrules.rules if r.kind == k] for k in ("hypothetical", "leading", "closed")}
    flags: list[Flag] = []
    for seg in t.by_role(Role.interviewer):
        if seg.id in skip:
            continue
        sents = sentences(seg.text)
        found: dict[str, tuple[QualityRule, list[str]]] = {}
        for sent in sents:
            text = match_text(sent)
            if stage is not None and _is_guide_text(sent, stage):
                continue
            for kind in ("leading", "hypothetical", "closed"):
                if kind == "hypothetical" and not hyp_ok:
                    continue
                for rule in by_kind[kind]:
                    if first_match(rule.patterns, text) and not first_match(rule.exceptions, text):
                        found.setdefault(kind, (rule, []))[1].append(sent)
                        break
        chosen = None
        for kind in ("leading", "hypothetical", "closed"):
            if kind in found:
                if kind == "closed":
                    res = _closed_flag(t, seg, found[kind], stage)
                    if res:
                        chosen = res
                else:
                    rule, ss = found[kind]
                    gq = _best_guide_match(" ".join(ss), stage, only_past=True) if (
                        stage is not None and kind == "hypothetical") else (None, 0, 0)
                    q = gq[0] if gq[2] >= 2 or gq[1] >= 0.4 else None
                    chosen = _mk_flag(kind, rule.id, seg, ss, " ".join(rule.explanation.split()), q)
                if chosen:
                    break
        if chosen:
            flags.append(chosen)
        stacked = _stacked_flag(seg, sents, stage, qrules)
        if stacked:
            flags.append(stacked)
    return flags


def _mk_flag(kind: str, rule_id: str, seg: Segment, sents: list[str], explanation: str, q=None) -> Flag:
    if q is not None:
        explanation += f' The guide asks: "{q.text}"'
    return Flag(kind=kind, rule_id=rule_id, segment_id=seg.id, start_s=seg.start_s, time=fmt_time(seg.start_s),
                line=seg.text, quote=" ".join(sents), explanation=explanation,
                guide_question_id=q.id if q is not None else None,
                guide_question_text=q.text if q is not None else None)


def _closed_flag(t: Transcript, seg: Segment, found: tuple[QualityRule, list[str]], stage) -> Flag | None:
    rule, sents = found
    # A turn that also asks something open is not a closed question.
    others = [s for s in sentences(seg.text) if s not in sents and s.rstrip().endswith("?")]
    if others:
        return None
    quote = " ".join(sents)
    q = None
    if stage is not None:
        cand, score, hits = _best_guide_match(quote, stage)
        if cand is not None and hits >= 2 and score >= 0.4 and not _is_closed_text(cand.text):
            q = cand
    ever = re.search(r"\bever\b", quote, re.IGNORECASE) is not None
    if not (q or ever or _short_yes_no(_next_reply(t, seg))):
        return None
    return _mk_flag("closed", rule.id, seg, sents, " ".join(rule.explanation.split()), q)


def _question_units(sent: str) -> list[str]:
    """The questions one sentence asks: its ", and what/how/did..." clauses, not counting a lead-in ("Okay, and
    what does that involve?") or a clause about what the first asked ("What languages do you speak, and how
    would you rate yourself in each?", "What did you do there, and did any of it carry over?")."""
    parts = [p for p in _CLAUSE_SPLIT.split(sent) if len(words(p)) >= 3]
    if len(parts) == 2 and _LIST_COMMA.search(parts[0]):  # "A, B, and C?": a list of questions
        return _LIST_COMMA.split(parts[0]) + parts[1:]
    if len(parts) == 2 and _BACK_REFERENCE.search(parts[1]):
        return parts[:1]
    return parts


_LIST_COMMA = re.compile(r",\s*(?=(?:what|how|why|who|when|where|which|did|do|does|were|was|are|is|have|had|could|"
                         r"would|can)\b)", re.IGNORECASE)
# A clause that asks more about what the clause before it named: one question with its follow-on.
_BACK_REFERENCE = re.compile(r"\b(it|that|them|those|each|either|both|one of them|any of (it|them|that|those))\b"
                             r"(?!\s+(?:you|your)\b)", re.I)


def _stacked_flag(seg: Segment, sents: list[str], stage, qrules: QualityRules) -> Flag | None:
    units: list[str] = []
    for sent in sents:
        if not sent.rstrip().endswith("?"):
            continue
        text = match_text(sent)
        if first_match(qrules.trivial_questions, text) or len(words(sent)) < 3:
            continue
        if stage is not None and _is_guide_text(sent, stage):
            continue
        parts = _question_units(sent)
        units += parts if len(parts) > 1 else [sent]
    if len(units) < 2:
        return None
    qs = [s for s in sents if s.rstrip().endswith("?")]
    return Flag(kind="stacked", rule_id="stacked-questions", segment_id=seg.id, start_s=seg.start_s,
                time=fmt_time(seg.start_s), line=seg.text, quote=" ".join(qs),
                explanation=(f"{len(units)} questions in one turn: the candidate will answer one (usually the "
                             "last or the easiest) and the others go unanswered. Ask one question, wait for the "
                             "answer, then follow up."))


# ---------------------------------------------------------------- verification of extra (LLM) flags

# An extra pass (e.g. an LLM) proposing flags for a coached interview; each is checked by `verify_flags`.
Reviewer = Callable[[Transcript, "CoachReport"], list[Flag]]


def verify_flags(t: Transcript, flags: list[Flag]) -> tuple[list[Flag], list[str]]:
    """Keep only flags whose quote is found (normalised, small fuzzy tolerance) in the interviewer turn they cite.

    Returns (kept, warnings). This is the gate every non-rule flag (e.g. from an LLM pass) goes through.
    """
    from rapidfuzz import fuzz

    kept, dropped = [], []
    for f in flags:
        try:
            seg = t.segment(f.segment_id)
        except KeyError:
            dropped.append(f"dropped a {f.kind} flag: segment {f.segment_id} does not exist")
            continue
        if seg.role != Role.interviewer:
            dropped.append(f"dropped a {f.kind} flag on {f.segment_id}: not an interviewer turn")
            continue
        q, s = normalize(f.quote), normalize(seg.text)
        if not q or (q not in s and fuzz.partial_ratio(q, s) < 90):
            dropped.append(f"dropped a {f.kind} flag on {f.segment_id}: quote not found in the line")
            continue
        kept.append(f.model_copy(update={"line": seg.text, "start_s": seg.start_s, "time": fmt_time(seg.start_s)}))
    return kept, dropped
