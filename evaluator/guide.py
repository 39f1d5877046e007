"""The interview guide: Guide -> Stage -> Question and Criterion (with anchored 0-4 scales).

Guides are YAML files under `rubrics/`, one per role, written by the importer and edited by
people. Loading validates them with pydantic and reports errors with the YAML line.
"""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evaluator.errors import GuideError, UsageError
from evaluator.text import content_words, normalize, slugify

NOT_ENOUGH_INFORMATION = "Not Enough Information Gathered to Evaluate"


class StageKind(str, Enum):
    """What a stage is for; decides its short id."""

    screening = "screening"
    work_sample = "work-sample"
    hiring_manager = "hiring-manager"
    behavioral = "behavioral"
    executive = "executive"
    debrief = "debrief"
    reference_check = "reference-check"
    other = "other"


class CriterionKind(str, Enum):
    """A competency or skill, a role goal (likelihood of achieving it), or the overall recommendation."""

    competency = "competency"
    goal = "goal"
    overall = "overall"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Competency(_Strict):
    """An essential behavioural competency of the role."""

    name: str
    description: str = ""


class Criterion(_Strict):
    """One scorecard line: a name and its anchors (score -> text)."""

    id: str
    name: str
    kind: CriterionKind = CriterionKind.competency
    anchors: dict[int, str] = Field(description="Score -> anchor text. 0 means 'Not Enough Information Gathered'.")

    @field_validator("anchors")
    @classmethod
    def _anchors_in_range(cls, v: dict[int, str]) -> dict[int, str]:
        if not v:
            raise ValueError("a criterion needs anchors (score -> text), e.g. {1: 'Poor', 2: 'Fair', 3: 'Good', 4: 'Great'}")
        bad = sorted(k for k in v if not 0 <= k <= 4)
        if bad:
            raise ValueError(f"anchor score(s) {bad} outside 0-4; scores run 0-4 (0 = {NOT_ENOUGH_INFORMATION})")
        if len([k for k in v if k > 0]) < 2:
            raise ValueError("a criterion needs at least two anchors above 0")
        for k, text in v.items():
            if not str(text).strip():
                raise ValueError(f"anchor {k} has no text")
        return dict(sorted(v.items()))

    @property
    def scale(self) -> tuple[int, int]:
        """Lowest and highest score on this criterion's scale."""
        return min(self.anchors), max(self.anchors)

    @property
    def allows_not_enough_information(self) -> bool:
        """True when 0 ('Not Enough Information Gathered') is on the scale."""
        return 0 in self.anchors

    def valid_score(self, score: int) -> bool:
        """Whether a score is on this criterion's scale."""
        return score in self.anchors


class Question(_Strict):
    """A guide question with the areas a good answer covers and its follow-ups."""

    id: str
    text: str
    competencies: list[str] = Field(default_factory=list, description="Competency tags named in parentheses.")
    criteria: list[str] = Field(
        default_factory=list, description="Ids of scorecard criteria this question informs (from its tags)."
    )
    areas_to_cover: list[str] = Field(default_factory=list)
    follow_ups: list[str] = Field(default_factory=list)
    guidance: str = ""


class Stage(_Strict):
    """One interview stage: directions, questions and a scorecard."""

    id: str
    name: str
    kind: StageKind = StageKind.other
    directions_interviewer: str = ""
    directions_candidate: str = ""
    best_practices: list[str] = Field(default_factory=list)
    materials: list[str] = Field(default_factory=list, description="What to provide the candidate (work samples).")
    questions: list[Question] = Field(default_factory=list)
    scorecard: list[Criterion] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="Text of the source the importer could not place.")

    def criterion(self, ref: str) -> Criterion:
        """A criterion by id or (case-insensitive) name."""
        for c in self.scorecard:
            if c.id == ref or normalize(c.name) == normalize(ref):
                return c
        raise UsageError(
            f"unknown criterion {ref!r} in stage {self.id!r}",
            hint="valid ids: " + ", ".join(c.id for c in self.scorecard),
        )

    def question(self, ref: str) -> Question:
        """A question by id."""
        for q in self.questions:
            if q.id == ref:
                return q
        raise UsageError(f"unknown question {ref!r} in stage {self.id!r}",
                         hint="valid ids: " + ", ".join(q.id for q in self.questions))

    def questions_for(self, criterion_id: str) -> list[Question]:
        """The questions whose competency tags point at a criterion."""
        return [q for q in self.questions if criterion_id in q.criteria]

    def unmatched_tags(self) -> list[tuple[str, str]]:
        """(question id, tag) pairs whose tag matches no criterion of this stage."""
        out = []
        for q in self.questions:
            linked = {self.criterion(c).name for c in q.criteria}
            for tag in q.competencies:
                if match_tag(tag, [c for c in self.scorecard if c.name in linked]) is None:
                    out.append((q.id, tag))
        return out


class GuideSection(_Strict):
    """Other material of the source guide kept as text (job description, hiring process, FAQ...)."""

    title: str
    text: str = ""


class Guide(_Strict):
    """A structured interview guide for one role."""

    schema_version: Literal[1] = 1
    id: str
    role: str
    version: str = Field(default="1", description="Bump when you edit the guide; outputs record it.")
    source: str = Field(default="", description="Where the guide came from (file name and SHA-256).")
    essential_competencies: list[Competency] = Field(default_factory=list)
    example_goals: list[str] = Field(default_factory=list)
    stages: list[Stage]
    sections: list[GuideSection] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_ids(self) -> "Guide":
        if not self.stages:
            raise ValueError("the guide has no stages; a guide needs at least one stage")
        seen: dict[str, str] = {}
        for st in self.stages:
            if st.id in seen:
                raise ValueError(f"duplicate stage id {st.id!r}")
            seen[st.id] = "stage"
            qids, cids = set(), set()
            for q in st.questions:
                if q.id in qids:
                    raise ValueError(f"duplicate question id {q.id!r} in stage {st.id!r}")
                qids.add(q.id)
            for c in st.scorecard:
                if c.id in cids:
                    raise ValueError(f"duplicate criterion id {c.id!r} in stage {st.id!r}")
                cids.add(c.id)
            for q in st.questions:
                for cid in q.criteria:
                    if cid not in cids:
                        raise ValueError(
                            f"question {q.id!r} links to criterion {cid!r}, which is not in the "
                            f"scorecard of stage {st.id!r} (valid: {', '.join(sorted(cids)) or 'none'})"
                        )
        return self

    def stage(self, ref: str) -> Stage:
        """A stage by id, kind, or full name (case-insensitive; leading emoji and 'Interview' optional)."""
        want = normalize(ref)
        for st in self.stages:
            if ref == st.id or want in {normalize(st.id), normalize(st.name), normalize(st.name.replace(" Interview", ""))}:
                return st
        raise UsageError(
            f"unknown stage {ref!r} in guide {self.id!r}",
            hint="valid stages: " + ", ".join(f"{s.id} ({s.name})" for s in self.stages),
        )

    def content_sha256(self) -> str:
        """Hash of the guide's content, recorded in outputs next to `version`."""
        from evaluator.files import sha256_bytes

        return sha256_bytes(self.model_dump_json().encode("utf-8"))

    def lint(self) -> list[str]:
        """Warnings that do not make the guide invalid (unmatched tags, stages without scorecards...)."""
        out = []
        for st in self.stages:
            for qid, tag in st.unmatched_tags():
                out.append(f"stage {st.id}: question {qid} names competency {tag!r}, which matches no criterion "
                           "of this stage's scorecard (it stays visible as a tag)")
            if not st.scorecard and st.kind != StageKind.debrief:
                out.append(f"stage {st.id}: has no scorecard")
            for note in st.notes:
                out.append(f"stage {st.id}: unplaced text kept as a note: {note[:80]!r}")
        return out


# ---------------------------------------------------------------- tolerant tag matching


def match_tag(tag: str, criteria: list[Criterion]) -> Criterion | None:
    """The criterion a competency tag names, matched tolerantly ('Adaptability' ~ 'Adaptability in
    Fast-Paced Environment', 'Analytical Thinking' ~ 'Analytical Thinking and Data-Driven Approach')."""
    tag_n = normalize(tag)
    tag_w = set(content_words(tag))
    if not tag_w:
        return None
    best, best_score = None, 0.0
    for c in criteria:
        if c.kind != CriterionKind.competency:
            continue
        if normalize(c.name) == tag_n:
            return c
        crit_w = set(content_words(c.name))
        if not crit_w:
            continue
        overlap = len(tag_w & crit_w)
        # every tag word in the criterion name, or most words of both shared
        score = overlap / len(tag_w) if overlap == len(tag_w) else overlap / max(len(tag_w), len(crit_w))
        if score > best_score:
            best, best_score = c, score
    return best if best_score >= 0.6 else None


def link_tags(stage: Stage) -> None:
    """Fill each question's `criteria` from its competency tags (keeps existing explicit links)."""
    for q in stage.questions:
        ids = list(q.criteria)
        for tag in q.competencies:
            c = match_tag(tag, stage.scorecard)
            if c is not None and c.id not in ids:
                ids.append(c.id)
        q.criteria = ids


# ---------------------------------------------------------------- YAML load / save


class _Dumper:
    """A PyYAML dumper that writes multi-line strings as blocks and keeps key order (for hand editing)."""

    @staticmethod
    def make():
        import yaml

        class D(yaml.SafeDumper):
            pass

        def str_repr(dumper, data):
            if "\n" in data:
                return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
            return dumper.represent_scalar("tag:yaml.org,2002:str", data)

        D.add_representer(str, str_repr)
        return D


def dump_guide_yaml(guide: Guide) -> str:
    """The guide as readable YAML (field order as in the model, empty lists left out)."""
    import yaml

    data = guide.model_dump(mode="json", exclude_defaults=False)
    data = _prune(data)
    header = (
        f"# Interview guide: {guide.role}\n"
        "# Edit freely; validate with `interview-eval guides validate FILE`. Bump `version` when you change it.\n"
        "# Anchors: score -> text; 0 = Not Enough Information Gathered to Evaluate.\n"
    )
    return header + yaml.dump(data, Dumper=_Dumper.make(), sort_keys=False, allow_unicode=True, width=100)


def _prune(obj):
    if isinstance(obj, dict):
        return {k: ({int(a): t for a, t in v.items()} if k == "anchors" else _prune(v))
                for k, v in obj.items() if v not in ([], "", None) or k in ("stages", "anchors")}
    if isinstance(obj, list):
        return [_prune(v) for v in obj]
    return obj


def parse_guide_yaml(text: str, *, source: str = "<guide>") -> Guide:
    """Parse and validate guide YAML, with errors naming the YAML line and the field."""
    import yaml

    from evaluator.files import yaml_loader

    try:
        # the C loader when libyaml is there (several times faster); the YAML tree only when an error needs a line
        data = yaml.load(text, Loader=yaml_loader())
    except yaml.YAMLError as exc:
        from evaluator.files import yaml_syntax_error

        raise yaml_syntax_error(exc, source, GuideError, "fix the YAML syntax (indentation, quotes, colons)") from None
    if not isinstance(data, dict) or "stages" not in data and "role" not in data:
        raise GuideError(f"{source}: not an interview guide (expected a YAML mapping with 'id', 'role' and 'stages')",
                         hint="import a guide written in the published format with `interview-eval guides import`",
                         remedy="import_text_guide")
    try:
        return Guide.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = list(err["loc"])
        root = yaml.compose(text, Loader=yaml_loader())
        line = _yaml_line(root, loc)
        bad = re.search(r"anchor score\(s\) \[(\d+)", err["msg"])
        if bad:  # point at the offending anchor, not at `anchors:`
            line = _yaml_line(root, loc + [bad.group(1)]) or line
        where = f", line {line}" if line else ""
        path = ".".join(str(p) for p in loc) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown field {loc[-1]!r}"
            hint = "remove it or fix its spelling (see `interview-eval guides schema`)"
        elif err["type"] == "missing":
            hint = f"add the field {loc[-1]!r}"
        else:
            hint = "see `interview-eval guides schema` for the expected shape"
        more = f" (+{len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise GuideError(f"{source}{where}: {path}: {msg}{more}", hint=hint) from None


def _yaml_line(node, loc: list) -> int | None:
    """Best-effort YAML line of a pydantic error location."""
    import yaml

    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if str(k.value) == str(part):
                    line, nxt = k.start_mark.line + 1, v
                    break
            if nxt is None:
                return line or (node.start_mark.line + 1)
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def bundled_guide_path(name: str) -> Path | None:
    """Path of a bundled guide by name (`customer-account-manager`), or None."""
    from evaluator.resources import rubrics_dir

    p = rubrics_dir() / f"{name}.yaml"
    return p if p.is_file() else None


def resolve_guide_path(ref: str | Path) -> Path:
    """A guide reference (path or bundled name) as a path; clear error when neither exists."""
    p = Path(ref)
    if p.exists():
        return p
    bundled = bundled_guide_path(str(ref))
    if bundled:
        return bundled
    names = [r["name"] for r in list_bundled_guides()]
    raise GuideError(f"{ref}: no such guide file or bundled guide",
                     hint="give a YAML path or one of: " + ", ".join(names))


def load_guide(ref: str | Path) -> Guide:
    """Load and validate a guide by path or bundled name."""
    from evaluator.files import read_text

    path = resolve_guide_path(ref)
    if path.suffix.lower() not in (".yaml", ".yml", ".json"):
        raise GuideError(f"{path}: expected a guide YAML file (.yaml)",
                         hint="to read a guide in the published text format use `interview-eval guides import`",
                         remedy="import_text_guide")
    text = read_text(path, what="guide")
    return parse_guide_yaml(text, source=str(path))


def save_guide(guide: Guide, path: str | Path) -> Path:
    """Write a guide as YAML, atomically."""
    from evaluator.files import atomic_write

    return atomic_write(path, dump_guide_yaml(guide))


def list_bundled_guides() -> list[dict]:
    """Name, role and stage ids of every bundled guide."""
    from evaluator.resources import rubrics_dir

    rows = []
    for p in sorted(rubrics_dir().glob("*.yaml")):
        g = parse_guide_yaml(p.read_text(encoding="utf-8"), source=str(p))
        rows.append({"name": p.stem, "role": g.role, "version": g.version, "path": str(p),
                     "stages": [s.id for s in g.stages]})
    return rows


def stage_ids_hint(guide: Guide) -> str:
    """'screening, work-sample, ...' for error messages."""
    return ", ".join(s.id for s in guide.stages)


def new_criterion_id(name: str, kind: CriterionKind, taken: set[str]) -> str:
    """A readable, unique criterion id."""
    if kind == CriterionKind.overall:
        base = slugify(name, 40) if normalize(name) != "overall recommendation" else "overall-recommendation"
    elif kind == CriterionKind.goal:
        words = [w for w in slugify(name.removeprefix("Goal:").strip(), 200).split("-") if w]
        base = "goal-" + "-".join(words[:6])
    else:
        base = slugify(name, 48)
    cid, n = base, 2
    while cid in taken:
        cid, n = f"{base}-{n}", n + 1
    taken.add(cid)
    return cid
