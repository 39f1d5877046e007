"""The review desk's interview guides: the team's own, kept in the desk's database, and the bundled ones.

One resolver for the whole web app: `Guides.find` / `Guides.resolve` look in the database first, then at the
bundled guides, so a team's guide is used exactly like a bundled one everywhere (the upload form, background
jobs, drafting again, the coverage, coaching and debrief views, import and export). With a version (a draft
records the one it was made with) only that version will do; without one, the newest is taken.

The database, not a server's folder, holds them: a team may share one PostgreSQL database between servers.
A guide is stored as the exact YAML text it was added with, under its id and version, and is never replaced:
the same id and version with other content is refused (the guide's `version:` must be bumped), the same
content again changes nothing. A guide in the published text format (shared/seeds) is converted by
`evaluator.guide_import` into the YAML `interview-eval guides import` writes, and that YAML is stored.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from evaluator.errors import GuideError
from evaluator.files import bom_encoding, sha256_bytes
from evaluator.guide import Guide, dump_guide_yaml, parse_guide_yaml
from evaluator.scorecard import utc_now
from evaluator.web.db import Database, GuideRow
from evaluator.web.store import ParsedByText

YAML_EXTENSIONS = {"yaml", "yml", "json"}
TEXT_EXTENSIONS = {"txt", "text", "md"}
MAX_GUIDE_BYTES = 4 * 2**20
# Ids and versions name the files of an export (guides/<id>-v<version>.yaml) and the form's choices (id@version).
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_VERSION_PART = re.compile(r"\d+|\D+")


def guide_ref(guide_id: str, version: str) -> str:
    """The value of a guide choice: `id@version`."""
    return f"{guide_id}@{version}"


def split_ref(ref: str) -> tuple[str, str | None]:
    """`id` or `id@version` -> (id, version or None)."""
    gid, at, version = (ref or "").strip().rpartition("@")
    return (gid.strip(), version.strip() or None) if at else ((ref or "").strip(), None)


def version_key(version: str) -> tuple:
    """Orders versions as people number them: 2 < 10, 1 < 1.1 < 1.2 (numbers compared as numbers)."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in _VERSION_PART.findall(version or ""))


@dataclass(frozen=True)
class GuideEntry:
    """A guide the desk offers: the parsed guide, its exact YAML text, and where it comes from."""

    guide: Guide
    text: str
    sha256: str
    origin: str  # "team" (in the database) or "bundled" (shipped with the package)
    added_by: str = ""
    added_at: str = ""

    @property
    def ref(self) -> str:
        return guide_ref(self.guide.id, self.guide.version)

    def choice(self) -> dict:
        """What a form's guide menu needs: the value, the label and the stages that have a scorecard."""
        return {"ref": self.ref, "name": self.guide.id, "version": self.guide.version, "role": self.guide.role,
                "origin": self.origin,
                "stages": [{"id": st.id, "name": st.name} for st in self.guide.stages if st.scorecard]}


@dataclass
class Added:
    """What adding a guide did."""

    entry: GuideEntry
    stored: bool  # False: that guide (id, version and content) was there already
    warnings: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        g = self.entry.guide
        if not self.stored:
            where = "a bundled guide" if self.entry.origin == "bundled" else "already in the desk"
            return f"{g.id} version {g.version} is {where}, with the same content: nothing changed"
        msg = f"added {g.role} ({g.id} version {g.version}, {len(g.stages)} stages)"
        if self.warnings:
            msg += f"; {len(self.warnings)} warning(s), first: {self.warnings[0]}"
        return msg


# Parsed guides by the sha256 of their text: a stored text never changes, so it is parsed once.
_parse = ParsedByText(lambda text, source: parse_guide_yaml(text, source=source), 64)


@functools.lru_cache(maxsize=1)
def bundled() -> tuple[GuideEntry, ...]:
    """The guides shipped with the package (read once)."""
    from evaluator.resources import rubrics_dir

    out = []
    for p in sorted(rubrics_dir().glob("*.yaml")):
        text = p.read_text(encoding="utf-8")
        guide, sha = _parse(text, str(p))
        out.append(GuideEntry(guide=guide, text=text, sha256=sha, origin="bundled"))
    return tuple(out)


def _entry(row: GuideRow) -> GuideEntry:
    guide, sha = _parse(row.body, f"guide {row.guide_id} version {row.version} in the database")
    return GuideEntry(guide=guide, text=row.body, sha256=sha, origin="team", added_by=row.created_by,
                      added_at=row.created_at)


def decode_upload(data: bytes, name: str) -> str:
    """An uploaded guide's text: UTF-8 (or UTF-16/32 with a byte-order mark); refused if empty, binary or too big."""
    if not data.strip():
        raise GuideError(f"{name}: the file is empty", hint="upload the guide's YAML or its published text")
    if len(data) > MAX_GUIDE_BYTES:
        raise GuideError(f"{name}: {len(data) / 2**20:.1f} MB is more than a guide may be "
                         f"({MAX_GUIDE_BYTES // 2**20} MB)", hint="is it the right file?")
    enc = bom_encoding(data)
    if enc is None and b"\x00" in data:
        raise GuideError(f"{name}: not a text file",
                         hint="upload the guide's YAML (.yaml) or its published text (.txt)")
    try:
        return data.decode(enc or "utf-8")
    except UnicodeDecodeError as exc:
        raise GuideError(f"{name}: not UTF-8 text (byte {exc.start})",
                         hint="save the guide as UTF-8 and upload it again") from None


class Guides:
    """The desk's guides: the team's (database) first, then the bundled ones."""

    def __init__(self, db: Database):
        self.db = db

    # ------------------------------------------------------------ reading

    def team(self) -> list[GuideEntry]:
        """Every guide the team added, oldest first."""
        with self.db.read() as s:
            rows = s.execute(select(GuideRow).order_by(GuideRow.id)).scalars().all()
        return [_entry(r) for r in rows]

    def catalogue(self) -> list[GuideEntry]:
        """Every guide, the team's and the bundled: grouped by id (in the order of their roles), the version
        offered first (the team's newest, else the bundled one), then the older ones, newest first."""
        groups: dict[str, list[GuideEntry]] = {}
        for e in self.team() + list(bundled()):
            groups.setdefault(e.guide.id, []).append(e)
        for items in groups.values():
            items.sort(key=lambda e: (e.origin == "team", version_key(e.guide.version)), reverse=True)
        return [e for _, items in sorted(groups.items(), key=lambda kv: (kv[1][0].guide.role.casefold(), kv[0]))
                for e in items]

    def find(self, guide_id: str, version: str | None = None) -> GuideEntry | None:
        """The guide `guide_id` (that `version`, or the newest): the team's first, then a bundled one."""
        with self.db.read() as s:
            q = select(GuideRow).where(GuideRow.guide_id == guide_id)
            if version is not None:
                q = q.where(GuideRow.version == version)
            rows = s.execute(q).scalars().all()
        if rows:
            return _entry(max(rows, key=lambda r: (version_key(r.version), r.id)))
        return next((e for e in bundled() if e.guide.id == guide_id
                     and (version is None or e.guide.version == version)), None)

    def resolve(self, guide_id: str, version: str | None = None) -> Guide:
        """The guide (a copy the caller may change), or a clear error naming what the desk has instead."""
        entry = self.find(guide_id, version)
        if entry is None:
            raise self.missing(guide_id, version)
        return entry.guide.model_copy(deep=True)

    def resolve_ref(self, ref: str) -> Guide:
        """The guide a form's choice names (`id` or `id@version`)."""
        return self.resolve(*split_ref(ref))

    def choices(self) -> list[dict]:
        """One menu entry per guide id, its newest version (a team's guide before a bundled one of that id)."""
        seen, out = set(), []
        for e in self.catalogue():
            if e.guide.id not in seen:
                seen.add(e.guide.id)
                out.append(e.choice())
        return out

    def versions(self, guide_id: str) -> list[GuideEntry]:
        """Every version of one guide id, as `catalogue` orders them."""
        return [e for e in self.catalogue() if e.guide.id == guide_id]

    def missing(self, guide_id: str, version: str | None) -> GuideError:
        """The error for a guide the desk does not have, naming the versions of it that it has."""
        if not guide_id:
            return GuideError("no interview guide was chosen", hint="choose one of the desk's guides")
        have = [e.guide.version for e in self.versions(guide_id)]
        if have:
            return GuideError(f"guide {guide_id!r} version {version!r} is not in this review desk (it has "
                              f"version {', '.join(have)})",
                              hint="add that version on the Guides page (upload its YAML, e.g. from an export of "
                                   "the desk it was made on)")
        return GuideError(f"guide {guide_id!r} is not in this review desk (neither a team guide nor a bundled one)",
                          hint="add it on the Guides page: upload its YAML or its published text")

    # ------------------------------------------------------------ adding

    def add_upload(self, data: bytes, name: str, added_by: str, *, guide_id: str = "", version: str = "") -> Added:
        """Add an uploaded guide file: YAML (.yaml/.yml), or the published text format (.txt), whose guide id
        (default: from the role's name) and version (default 1) may be given."""
        from evaluator.guide_import import import_guide_text

        ext = name.rpartition(".")[2].lower() if "." in name else ""
        guide_id, version = guide_id.strip(), version.strip()
        if ext in YAML_EXTENSIONS:
            if guide_id or version:
                raise GuideError(f"{name}: a YAML guide's id and version are its own `id:` and `version:`",
                                 hint="leave the guide id and version fields empty, or edit them in the file")
            text = decode_upload(data, name)
            guide = parse_guide_yaml(text.lstrip("\ufeff"), source=name)
            return self.add(guide, text, source=name, added_by=added_by, warnings=guide.lint())
        if ext in TEXT_EXTENSIONS:
            text = decode_upload(data, name)
            result = import_guide_text(text, source=name, guide_id=guide_id or None)
            guide = result.guide
            guide.source = f"{name} (sha256 {sha256_bytes(data)})"  # as `guides import` records it
            if version:
                guide.version = version
            return self.add(guide, dump_guide_yaml(guide), source=name, added_by=added_by, warnings=result.warnings,
                            text_format=True)
        raise GuideError(f"{name}: not a guide file this desk reads",
                         hint="upload the guide's YAML (.yaml or .yml) or its published text format (.txt)")

    def add(self, guide: Guide, text: str, *, source: str, added_by: str, added_at: str | None = None,
            warnings: list[str] | None = None, text_format: bool = False) -> Added:
        """Store `guide` as `text` (its YAML), unless that id and version are here already: with the same content
        nothing changes; with other content it is refused (never overwritten)."""
        bump = ("give it a new version in the Version field (or another guide id)" if text_format else
                "bump `version:` in the guide (e.g. version: '2') and upload it again")
        for what, value in (("id", guide.id), ("version", guide.version)):
            if not _NAME.match(value):
                raise GuideError(f"{source}: guide {what} {value!r}: use letters, digits, '.', '_' and '-' only "
                                 "(it names the guide's files in an export)",
                                 hint=f"change `{what}:` in the guide" if not text_format else
                                 f"give a guide {what} in the form")
        content = guide.content_sha256()
        warnings = list(warnings or [])
        for e in bundled():
            if (e.guide.id, e.guide.version) == (guide.id, guide.version):
                if e.guide.content_sha256() == content:
                    return Added(entry=e, stored=False, warnings=warnings)
                raise GuideError(f"{source}: guide {guide.id!r} version {guide.version!r} is a bundled guide, with "
                                 "other content; a guide is never replaced", hint=bump)
        for _attempt in range(2):  # a second add of the same guide at the same moment loses the unique key
            try:
                with self.db.write() as s:
                    row = s.execute(select(GuideRow).where(GuideRow.guide_id == guide.id,
                                                           GuideRow.version == guide.version)).scalar_one_or_none()
                    if row is not None:
                        if row.content_sha256 != content:
                            raise GuideError(
                                f"{source}: guide {guide.id!r} version {guide.version!r} is already in the desk with "
                                f"other content (added by {row.created_by or 'an import'} on {row.created_at[:10]}); "
                                "a guide is never overwritten", hint=bump)
                        return Added(entry=_entry(row), stored=False, warnings=warnings)
                    row = GuideRow(guide_id=guide.id, version=guide.version, body=text,
                                   sha256=sha256_bytes(text.encode("utf-8")), content_sha256=content,
                                   created_by=added_by, created_at=added_at or utc_now())
                    s.add(row)
                    s.flush()
                return Added(entry=_entry(row), stored=True, warnings=warnings)
            except IntegrityError:
                continue
        raise GuideError(f"{source}: guide {guide.id!r} version {guide.version!r} could not be stored",
                         hint="try again in a moment")
