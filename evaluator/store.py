"""Where scorecards live: drafts, reviews in progress and final scorecards, behind one narrow interface.

`FileStore` keeps them as JSON files beside the draft — the interchange format:

- `NAME.json`: the draft (`evaluate -o NAME.json`); never replaced while it is under review.
- `NAME.review.<reviewer-key>.json`: one reviewer's review in progress. The key is a readable slug of the
  name plus 8 hex digits of its hash, so names that slug alike (every all-non-Latin name, "Dana"/"dana")
  never share a file; the file records the name and the draft's sha256.
- `NAME.final.json`: the first final scorecard; another reviewer's is `NAME.final.<reviewer-key>.json`.
- `NAME.final.r2.json`, `.r3`...: revisions. A final scorecard is never edited in place.

Every change to one draft's records happens inside `store.transaction(ref)`: an exclusive lock
(`filelock`, a `.NAME.lock` file beside the draft) held while the state is read, changed and written, so
two processes of one reviewer, or two reviewers finishing at once, never lose a decision. Finals and
revisions are created exclusively (never overwritten). The web app keeps the same records in a database
behind the same `ReviewStore` protocol.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Iterator, Protocol

from pydantic import ValidationError

from evaluator.errors import ReviewError
from evaluator.review import ReviewState, Scorecard, check_scorecard
from evaluator.scorecard import Draft, FinalScorecard

LOCK_TIMEOUT_S = 30.0


class ReviewStore(Protocol):
    """Storage of one team's drafts, review states and finals. `ref` names a draft or a final scorecard."""

    def transaction(self, ref: str) -> contextlib.AbstractContextManager[None]:
        """Hold the exclusive lock of `ref`'s draft and everything derived from it."""

    def load_card(self, ref: str) -> tuple[Scorecard, str]:
        """The validated, integrity-checked scorecard and the sha256 its reviews and finals refer to."""

    def load_state(self, ref: str, reviewer: str, card_sha256: str) -> ReviewState:
        """The reviewer's review in progress (a fresh one if none); refused if made on another version."""

    def save_state(self, ref: str, reviewer: str, state: ReviewState) -> str:
        """Save the review in progress; returns where."""

    def find_final(self, ref: str, reviewer: str) -> str | None:
        """Where this reviewer's final scorecard of the draft is, if there is one."""

    def save_final(self, ref: str, reviewer: str, final: FinalScorecard) -> str:
        """Create the reviewer's final scorecard (never overwrites); returns where."""

    def latest_revision(self, ref: str) -> str:
        """The newest revision of the final scorecard `ref` (itself when it has none)."""

    def save_revision(self, ref: str, final: FinalScorecard) -> str:
        """Create the next revision of a final scorecard (never overwrites); returns where."""

    def reviews_of(self, ref: str) -> list[str]:
        """Review states and finals that exist for a draft (a draft with any is under review)."""


# ---------------------------------------------------------------- reading scorecard files


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    more = f" (+{len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{loc}: {err['msg']}{more}"


def parse_scorecard(text: str, source: str) -> Scorecard:
    """A draft or final scorecard from its JSON text, validated and integrity-checked (seal, quotes found
    again in the transcript), or one clear error naming `source`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReviewError(f"{source}, line {exc.lineno}: not valid JSON ({exc.msg})",
                          hint="give the JSON written by `interview-eval evaluate` or `review`") from None
    kind = data.get("kind") if isinstance(data, dict) else None
    model = {"draft": Draft, "final": FinalScorecard}.get(kind)
    if model is None:
        what = "a review-state file" if kind == "review_state" else f"kind {kind!r}" if kind else "no 'kind' field"
        raise ReviewError(f"{source}: not a scorecard ({what}); expected a draft or a final scorecard",
                          hint="give the draft written by `interview-eval evaluate -o draft.json`, or a final "
                               "scorecard written by `review`")
    try:
        card = model.model_validate(data)
    except ValidationError as exc:
        raise ReviewError(f"{source}: not a valid {kind} scorecard: {_first_error(exc)}",
                          hint="re-create it with `interview-eval evaluate` (drafts) or `review` (finals); "
                               "do not edit scorecard JSON by hand") from None
    problems = check_scorecard(card)
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ReviewError(f"{source}: refused as a {kind} scorecard: {problems[0]}{more}",
                          hint="re-create it with `interview-eval evaluate`; a person's changes belong in "
                               "`review` (overrides with a reason), never in the JSON")
    return card


def load_scorecard(path: str | Path) -> Scorecard:
    """Read a draft or final scorecard file (see `parse_scorecard`)."""
    from evaluator.files import read_text

    p = Path(path)
    return parse_scorecard(read_text(p, what="scorecard"), str(p))


# ---------------------------------------------------------------- names


def reviewer_key(reviewer: str) -> str:
    """A file-name-safe, collision-free key for a reviewer: readable slug + 8 hex digits of the name's hash."""
    import hashlib
    import unicodedata

    name = unicodedata.normalize("NFC", " ".join(reviewer.split()))
    slug = re.sub(r"[^\w]+", "-", name.casefold(), flags=re.UNICODE).strip("-_")[:40].strip("-_") or "reviewer"
    return f"{slug}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:8]}"


_REV = re.compile(r"^(?P<base>.*?)(\.r(?P<n>\d+))?$")


def _draft_stem(path: Path) -> str:
    """`d.json`, `d.final.json`, `d.final.dana-1a2b3c4d.r2.json` -> `d` (the family of one draft)."""
    return path.name[: -len(".json")].split(".final", 1)[0].split(".review.", 1)[0]


def revision_path(final_path: str | Path, revision: int) -> Path:
    """`final.json` (or `final.r2.json`) -> `final.r<revision>.json`."""
    p = Path(final_path)
    return p.with_name(f"{_REV.match(p.stem).group('base')}.r{revision}.json")


class FileStore:
    """Scorecards and reviews as JSON files beside the draft (see the module docstring)."""

    def __init__(self, lock_timeout_s: float = LOCK_TIMEOUT_S):
        self.lock_timeout_s = lock_timeout_s

    @staticmethod
    def path(ref: str | Path) -> Path:
        """The real path of a scorecard (symlinks resolved, so a linked draft shares its reviews)."""
        return Path(ref).expanduser().resolve()

    def state_path(self, ref: str | Path, reviewer: str) -> Path:
        """`d.json` -> `d.review.<reviewer-key>.json`."""
        p = self.path(ref)
        return p.with_name(f"{p.stem}.review.{reviewer_key(reviewer)}.json")

    @contextlib.contextmanager
    def transaction(self, ref: str | Path) -> Iterator[None]:
        from filelock import FileLock, Timeout

        p = self.path(ref)
        lock = FileLock(str(p.with_name(f".{_draft_stem(p)}.lock")), timeout=self.lock_timeout_s)
        try:
            with lock:
                yield
        except Timeout:
            raise ReviewError(f"{p}: another review of this draft has held its lock for {self.lock_timeout_s:g} s",
                              hint="wait for the other `review` to finish, then run the command again") from None

    def load_card(self, ref: str | Path) -> tuple[Scorecard, str]:
        from evaluator.files import read_text, sha256_bytes

        p = self.path(ref)
        text = read_text(p, what="scorecard")
        return parse_scorecard(text, str(ref)), sha256_bytes(p.read_bytes())

    def load_state(self, ref: str | Path, reviewer: str, card_sha256: str) -> ReviewState:
        sp = self.state_path(ref, reviewer)
        if not sp.exists():
            return ReviewState(draft_sha256=card_sha256, reviewer=" ".join(reviewer.split()))
        try:
            state = ReviewState.model_validate_json(sp.read_text(encoding="utf-8"))
        except (ValidationError, ValueError) as exc:
            detail = _first_error(exc) if isinstance(exc, ValidationError) else str(exc)
            raise ReviewError(f"{sp}: review-state file is damaged: {detail}",
                              hint="move it away to start the review again") from None
        if state.reviewer and state.reviewer != " ".join(reviewer.split()):
            raise ReviewError(f"{sp}: belongs to reviewer {state.reviewer!r}, not {reviewer!r}",
                              hint="this should not happen; move the file away and report it")
        if state.draft_sha256 != card_sha256:
            raise ReviewError(f"{sp}: this review was started on a different version of {Path(ref).name} "
                              "(sha256 differs)",
                              hint=f"finish it on the original draft, or move {sp.name} away to start again")
        return state

    def save_state(self, ref: str | Path, reviewer: str, state: ReviewState) -> str:
        from evaluator.files import atomic_write

        return str(atomic_write(self.state_path(ref, reviewer), state.model_dump_json(indent=2) + "\n"))

    def _finals(self, ref: str | Path) -> list[Path]:
        p = self.path(ref)
        return sorted(f for f in p.parent.glob(f"{p.stem}.final*.json") if not _REV.match(f.stem).group("n"))

    def find_final(self, ref: str | Path, reviewer: str) -> str | None:
        name = " ".join(reviewer.split())
        for f in self._finals(ref):
            try:
                if json.loads(f.read_text(encoding="utf-8")).get("reviewer") == name:
                    return str(f)
            except (OSError, ValueError):
                continue
        p = self.path(ref)
        mine = p.with_name(f"{p.stem}.final.{reviewer_key(reviewer)}.json")
        return str(mine) if mine.exists() else None

    def save_final(self, ref: str | Path, reviewer: str, final: FinalScorecard) -> str:
        from evaluator.files import write_new

        p = self.path(ref)
        text = final.model_dump_json(indent=2) + "\n"
        try:
            return str(write_new(p.with_name(f"{p.stem}.final.json"), text))
        except FileExistsError:
            pass
        try:
            return str(write_new(p.with_name(f"{p.stem}.final.{reviewer_key(reviewer)}.json"), text))
        except FileExistsError:
            raise ReviewError(f"{p}: {reviewer} already has a final scorecard of this draft; it is never "
                              "overwritten", hint="make a revision: review FINAL --reviewer NAME --set ID=SCORE "
                                                  "--reason TEXT") from None

    def latest_revision(self, ref: str | Path) -> str:
        p = self.path(ref)
        base = _REV.match(p.stem).group("base")
        best, best_n = p, 0
        for f in p.parent.glob(f"{base}.r*.json"):
            m = _REV.match(f.stem)
            if m.group("base") == base and m.group("n") and int(m.group("n")) > best_n:
                best, best_n = f, int(m.group("n"))
        return str(best)

    def save_revision(self, ref: str | Path, final: FinalScorecard) -> str:
        from evaluator.files import write_new

        out = revision_path(self.path(ref), final.revision)
        try:
            return str(write_new(out, final.model_dump_json(indent=2) + "\n"))
        except FileExistsError:
            raise ReviewError(f"{out}: already exists; a scorecard is never overwritten",
                              hint="revise the latest revision") from None

    def reviews_of(self, ref: str | Path) -> list[str]:
        p = self.path(ref)
        return sorted(str(f) for f in p.parent.glob(f"{p.stem}.review.*.json")) + [str(f) for f in self._finals(p)]
