"""Read an interview guide written in the published text format (see shared/seeds) into a Guide.

The format is line based: a preamble (job description, hiring process overview, ideal candidate
profile), then stages. A stage starts with a heading line directly followed by a
"Directions for ..." line — that is what tells a stage apart from the hiring-process overview,
which names the same stages followed by a blurb. Inside a stage, marker lines switch what the
following lines are: directions, best practices, directions to share with the candidate,
materials, questions (with "Areas to Cover", "Possible Follow-up Questions", "Guidance"), and the
scorecard (a criterion line followed by "- N: anchor" lines). Text that fits none of these is kept
as a stage note and reported; nothing is dropped silently.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from evaluator.errors import GuideError
from evaluator.guide import (
    Competency,
    Criterion,
    CriterionKind,
    Guide,
    GuideSection,
    Question,
    Stage,
    StageKind,
    link_tags,
    new_criterion_id,
)
from evaluator.text import slugify

_ANCHOR = re.compile(r"^-\s*(\d+)\s*[:.)]\s*(.+)$")
_BULLET = re.compile(r"^[-*•]\s+(.*)$")
_DIRECTIONS = re.compile(r"^Directions\s+for\b", re.I)
_CANDIDATE_DIRECTIONS = re.compile(r"^Directions\s+to\s+Share\s+with\s+(the\s+)?Candidate:?$", re.I)
_BEST_PRACTICES = re.compile(r"^Best\s+practices:?\s*(.*)$", re.I)
_MATERIALS = re.compile(r"^Provide\s+the\s+candidate\s+with:?\s*(.*)$", re.I)
_AREAS = re.compile(r"^(?:Guidance\s+for\s+(?:the\s+)?Interviewer:\s*)?Areas\s+to\s+Cover:?\s*(.*)$", re.I)
_GUIDANCE = re.compile(r"^Guidance(?:\s+for\s+(?:the\s+)?Interviewer)?:\s*(.*)$", re.I)
_FOLLOW_UPS = re.compile(r"^Possible\s+Follow[- ]?up\s+Questions:?\s*(.*)$", re.I)
_SCORECARD = re.compile(r"^[\w /&-]{0,40}Scorecard:?$", re.I)
_FAQ = re.compile(r"^(Frequently\s+Asked\s+Questions|FAQs?)\b", re.I)
_TAGS = re.compile(r"\s*\(([^()]+)\)\s*$")
_TAG_ITEM = re.compile(r"^[A-Z][\w/&'-]*(?:[ -][\w/&'-]+){0,6}$")
_PREAMBLE_HEADINGS = re.compile(
    r"^(How to Use This Guide|Job Description|Hiring Process|Ideal Candidate Profile.*|Role Overview:?|"
    r"Desired Outcomes|Essential (Behavioral )?Competencies:?|Example Goals.*)$",
    re.I,
)


@dataclass
class UnplacedLine:
    """A source line the importer could not place (kept as a stage note)."""

    line: int
    text: str
    where: str


@dataclass
class ImportResult:
    """The imported guide plus what the importer has to tell about it."""

    guide: Guide
    warnings: list[str] = field(default_factory=list)
    unplaced: list[UnplacedLine] = field(default_factory=list)

    def summary(self) -> dict:
        """Counts per stage and the warnings, for the CLI."""
        return {
            "role": self.guide.role,
            "id": self.guide.id,
            "stages": [
                {"id": s.id, "stage": s.name, "kind": s.kind.value, "questions": len(s.questions),
                 "criteria": len(s.scorecard)}
                for s in self.guide.stages
            ],
            "warnings": self.warnings,
            "unplaced": [u.__dict__ for u in self.unplaced],
        }


def clean_line(line: str) -> str:
    """Strip decoration a copy-paste left around a line: emoji, broken emoji bytes (mojibake such as
    'π ' or 'πΊοΈ '), zero-width and non-breaking spaces."""
    s = line.replace("\u00a0", " ").replace("\ufeff", "")
    s = "".join(ch for ch in s if unicodedata.category(ch) not in ("Cf", "Cc") or ch == "\t").strip()
    # leading run of non-ASCII decoration before ASCII text
    m = re.match(r"^([^\x00-\x7f]+)\s*(?=[\x21-\x7e])", s)
    if m:
        run = m.group(1).strip()
        latin_word = all("LATIN" in unicodedata.name(ch, "") for ch in run) and not s[len(m.group(1)):][:1].isspace()
        if not latin_word:
            s = s[m.end():]
    # trailing emoji / symbols
    s = re.sub(r"(\s+[^\x00-\x7f\w]+)+$", "", s)
    s = re.sub(r"[\u2600-\u27bf\U0001f000-\U0001faff\ufe0f\u200d]+$", "", s).rstrip()
    return s.strip()


def import_guide_file(path: str | Path, *, guide_id: str | None = None) -> ImportResult:
    """Read a guide file in the published text format."""
    from evaluator.files import read_text, sha256_file

    p = Path(path)
    text = read_text(p, what="guide")
    result = import_guide_text(text, source=p.name, guide_id=guide_id)
    result.guide.source = f"{p.name} (sha256 {sha256_file(p)})"
    return result


def import_guide_text(text: str, *, source: str = "<text>", guide_id: str | None = None) -> ImportResult:
    """Parse guide text in the published format into a validated Guide."""
    raw = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = [(i + 1, clean_line(l)) for i, l in enumerate(raw)]
    lines = [(n, l) for n, l in lines if l]
    if not lines:
        raise GuideError(f"{source}: the guide is empty", hint="give a guide with stages")

    starts = [k for k in range(len(lines) - 1) if _is_stage_heading(lines, k)]
    if not starts:
        raise GuideError(
            f"{source}: no interview stages found (a stage is a heading line followed by "
            "'Directions for the Interviewer')",
            hint="check that this is an interview guide in the published format",
        )
    parser = _Parser(source)
    preamble = lines[: starts[0]]
    role = _role_name(preamble, source)
    competencies, goals = _profile(preamble)
    sections = _sections(preamble)
    stages: list[Stage] = []
    bounds = starts + [len(lines)]
    taken_ids: set[str] = set()
    for a, b in zip(bounds, bounds[1:]):
        stage, trailing = parser.stage(lines[a:b], taken_ids)
        stages.append(stage)
        if trailing:
            sections.append(GuideSection(title=trailing[0][1], text="\n".join(l for _, l in trailing[1:])))

    gid = guide_id or slugify(role)
    try:
        guide = Guide(id=gid, role=role, source=source, essential_competencies=competencies,
                      example_goals=goals, stages=stages, sections=sections)
    except Exception as exc:  # pydantic ValidationError: report as a guide error
        raise GuideError(f"{source}: the imported guide does not validate: {exc}",
                         hint="check the stage and scorecard sections of the source") from None
    warnings = list(parser.warnings) + guide.lint()
    return ImportResult(guide=guide, warnings=_dedupe(warnings), unplaced=parser.unplaced)


# ---------------------------------------------------------------- preamble


def _is_stage_heading(lines: list[tuple[int, str]], k: int) -> bool:
    text = lines[k][1]
    nxt = lines[k + 1][1]
    return (
        bool(_DIRECTIONS.match(nxt))
        and not _DIRECTIONS.match(text)
        and not _BULLET.match(text)
        and len(text) <= 80
        and not text.endswith((".", "?", ":"))
    )


def _role_name(preamble: list[tuple[int, str]], source: str) -> str:
    for k, (_, l) in enumerate(preamble[:-1]):
        if l.lower() == "job description":
            return preamble[k + 1][1].strip()
    for _, l in preamble[:5]:
        m = re.search(r"for the (.+?) (?:role|position)\b", l)
        if m:
            return m.group(1).strip()
    return Path(source).stem.replace("_", " ").replace("-", " ").title()


def _profile(preamble: list[tuple[int, str]]) -> tuple[list[Competency], list[str]]:
    comps: list[Competency] = []
    goals: list[str] = []
    mode = None
    for _, l in preamble:
        if re.match(r"^Essential (Behavioral )?Competencies:?$", l, re.I):
            mode = "comp"
            continue
        if re.match(r"^Example Goals.*:?$", l, re.I):
            mode = "goal"
            continue
        b = _BULLET.match(l)
        if b and mode == "comp":
            name, _, desc = b.group(1).partition(":")
            comps.append(Competency(name=name.strip(), description=desc.strip()))
        elif b and mode == "goal":
            goals.append(b.group(1).strip())
        elif not b:
            mode = None
    return comps, goals


def _sections(preamble: list[tuple[int, str]]) -> list[GuideSection]:
    out: list[GuideSection] = []
    title, body = "Introduction", []
    for _, l in preamble:
        if _PREAMBLE_HEADINGS.match(l):
            if body or title != "Introduction":
                out.append(GuideSection(title=title, text="\n".join(body)))
            title, body = l.rstrip(":"), []
        else:
            body.append(l)
    if body or title != "Introduction":
        out.append(GuideSection(title=title, text="\n".join(body)))
    return out


# ---------------------------------------------------------------- stages


def stage_kind(name: str) -> StageKind:
    """Classify a stage by its name."""
    n = name.lower()
    for pattern, kind in (
        (r"debrief", StageKind.debrief),
        (r"reference", StageKind.reference_check),
        (r"work sample|case study|exercise|presentation|role[- ]play", StageKind.work_sample),
        (r"hiring manager", StageKind.hiring_manager),
        (r"behaviou?ral|competency", StageKind.behavioral),
        (r"executive|leadership|final", StageKind.executive),
        (r"screen|phone", StageKind.screening),
    ):
        if re.search(pattern, n):
            return kind
    return StageKind.other


def _tags(text: str) -> tuple[str, list[str]]:
    """Split trailing '(Competency A, Competency B)' off a question."""
    m = _TAGS.search(text)
    if not m:
        return text, []
    items = [t.strip() for t in m.group(1).split(",")]
    if items and all(_TAG_ITEM.match(t) for t in items):
        return text[: m.start()].rstrip(), items
    return text, []


class _Parser:
    def __init__(self, source: str):
        self.source = source
        self.warnings: list[str] = []
        self.unplaced: list[UnplacedLine] = []

    def stage(self, block: list[tuple[int, str]], taken: set[str]):
        heading_line, name = block[0]
        kind = stage_kind(name)
        base = kind.value if kind != StageKind.other else slugify(name, 32)
        sid, n = base, 2
        while sid in taken:
            sid, n = f"{base}-{n}", n + 1
        taken.add(sid)

        st = {"directions_interviewer": [], "directions_candidate": [], "best_practices": [], "materials": []}
        questions: list[dict] = []
        criteria: list[dict] = []
        notes: list[str] = []
        mode, sub = None, None
        trailing: list[tuple[int, str]] = []
        i = 1
        while i < len(block):
            ln, l = block[i]
            nxt = block[i + 1][1] if i + 1 < len(block) else ""
            if _FAQ.match(l):
                trailing = block[i:]
                break
            if _DIRECTIONS.match(l) and mode is None:
                mode = "dir_i"
            elif _CANDIDATE_DIRECTIONS.match(l):
                mode = "dir_c"
            elif (m := _BEST_PRACTICES.match(l)) and mode in ("dir_i", "dir_c", "materials", "best"):
                mode = "best"
                if m.group(1):
                    st["best_practices"].append(m.group(1))
            elif (m := _MATERIALS.match(l)) and mode in ("dir_i", "dir_c", "best", "materials"):
                mode = "materials"
                if m.group(1):
                    st["materials"].append(m.group(1))
            elif _SCORECARD.match(l) and mode != "score":
                mode, sub = "score", None
            elif mode != "score" and self._is_questions_header(l):
                mode, sub = "questions", None
            elif mode == "questions":
                self._question_line(ln, l, questions, notes, sub_holder := [sub])
                sub = sub_holder[0]
            elif mode == "score":
                a = _ANCHOR.match(l)
                if a and criteria:
                    score = int(a.group(1))
                    if score in criteria[-1]["anchors"]:
                        self.warnings.append(f"{self.source}, line {ln}: criterion {criteria[-1]['name']!r} "
                                             f"has anchor {score} twice; kept the first")
                    else:
                        criteria[-1]["anchors"][score] = a.group(2).strip()
                elif not _BULLET.match(l) and _ANCHOR.match(nxt):
                    criteria.append({"name": l.rstrip(":"), "anchors": {}, "line": ln})
                else:
                    # the scorecard is over: whatever follows until the next stage is other material
                    trailing = block[i:]
                    break
            elif mode in ("dir_i", "dir_c"):
                st["directions_interviewer" if mode == "dir_i" else "directions_candidate"].append(l)
            elif mode in ("best", "materials"):
                b = _BULLET.match(l)
                if b:
                    st["best_practices" if mode == "best" else "materials"].append(b.group(1).strip())
                else:
                    # prose after a list returns to the directions it belongs to
                    st["directions_interviewer"].append(l)
            else:
                self._unplaced(ln, l, f"stage {sid}", notes)
            i += 1

        qs = []
        for k, q in enumerate(questions, 1):
            text, tags = _tags(q["text"])
            qs.append(Question(
                id=f"{sid}-q{k}", text=text, competencies=tags, areas_to_cover=q["areas"],
                follow_ups=q["follow_ups"], guidance="\n".join(q["guidance"]),
            ))
        crits, cids = [], set()
        for c in criteria:
            cname = c["name"]
            kind_c = (CriterionKind.goal if re.match(r"^Goal\s*:", cname, re.I)
                      else CriterionKind.overall if re.match(r"^Overall\s+Recommendation", cname, re.I)
                      else CriterionKind.competency)
            if not c["anchors"]:
                self._unplaced(c["line"], cname, f"stage {sid} scorecard", notes)
                continue
            try:
                crits.append(Criterion(id=new_criterion_id(cname, kind_c, cids), name=cname, kind=kind_c,
                                       anchors=c["anchors"]))
            except Exception as exc:
                raise GuideError(f"{self.source}, line {c['line']}: criterion {cname!r}: "
                                 f"{str(exc).splitlines()[-1].strip()}",
                                 hint="fix the criterion's '- N: text' anchor lines (scores 0-4)") from None
        dir_c = "\n".join(st["directions_candidate"]).strip()
        if len(dir_c) > 1 and dir_c[0] in "\"“" and dir_c[-1] in "\"”":
            dir_c = dir_c[1:-1].strip()
        stage = Stage(
            id=sid, name=name, kind=kind, directions_interviewer="\n".join(st["directions_interviewer"]).strip(),
            directions_candidate=dir_c, best_practices=st["best_practices"], materials=st["materials"],
            questions=qs, scorecard=crits, notes=notes,
        )
        link_tags(stage)
        return stage, trailing

    @staticmethod
    def _is_questions_header(l: str) -> bool:
        return (
            bool(re.search(r"\bQuestions\b", l, re.I))
            and not _FOLLOW_UPS.match(l)
            and not l.endswith(("?", "."))
            and len(l.split()) <= 8
        )

    def _question_line(self, ln, l, questions, notes, sub_holder):
        sub = sub_holder[0]
        if m := _AREAS.match(l):
            sub = "areas"
            if m.group(1):
                self._add(questions, sub, m.group(1), ln, l, notes)
        elif m := _FOLLOW_UPS.match(l):
            sub = "follow_ups"
            if m.group(1):
                self._add(questions, sub, m.group(1), ln, l, notes)
        elif m := _GUIDANCE.match(l):
            sub = "guidance"
            if m.group(1):
                self._add(questions, sub, m.group(1), ln, l, notes)
        elif b := _BULLET.match(l):
            if sub is None:
                self._unplaced(ln, l, "questions (a bullet before any 'Areas to Cover' or follow-ups)", notes)
            else:
                self._add(questions, sub, ("- " if sub == "guidance" else "") + b.group(1).strip(), ln, l, notes)
        else:
            questions.append({"text": l, "areas": [], "follow_ups": [], "guidance": [], "line": ln})
            sub = None
        sub_holder[0] = sub

    def _add(self, questions, sub, text, ln, l, notes):
        if not questions:
            self._unplaced(ln, l, "questions (before the first question)", notes)
            return
        questions[-1][sub].append(text.strip())

    def _unplaced(self, ln, l, where, notes):
        self.unplaced.append(UnplacedLine(line=ln, text=l, where=where))
        self.warnings.append(f"{self.source}, line {ln}: could not place {l[:70]!r} ({where}); kept as a note")
        notes.append(l)


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
