"""Build a long interview transcript (about 90 minutes, 15,000 words) from the bundled samples."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PARTS = ["samples/cam-screening-strong.vtt", "samples/cam-screening-weak-skips.txt", "samples/cam-hiring-manager.txt",
         "samples/batch/01-whitfield-nguyen.vtt", "samples/batch/05-brooks-adeyemi.vtt"]


def long_transcript(target_words: int = 15000):
    """A Transcript of about `target_words` words: the samples one after another, roles set."""
    from evaluator.guide import load_guide
    from evaluator.inputs import load_interview
    from evaluator.transcript import Segment, Transcript, TranscriptMeta, segment_id

    guide = load_guide("customer-account-manager")
    loaded = [load_interview(REPO / p, guide=guide) for p in PARTS]
    segs, offset, words = [], 0.0, 0
    while words < target_words:
        for t in loaded:
            last = 0.0
            for s in t.segments:
                start = (s.start_s or 0.0) + offset
                end = (s.end_s if s.end_s is not None else (s.start_s or 0.0) + 5) + offset
                segs.append(Segment(id=segment_id(len(segs)), start_s=round(start, 3), end_s=round(end, 3),
                                    speaker="Interviewer" if s.role.value == "interviewer" else "Candidate",
                                    role=s.role, text=s.text))
                words += len(s.text.split())
                last = max(last, end - offset)
            offset += last + 5
            if words >= target_words:
                break
    return Transcript(meta=TranscriptMeta(source="long-interview.json", duration_s=offset), segments=segs)


if __name__ == "__main__":
    t = long_transcript()
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "long-interview.json")
    out.write_text(t.model_dump_json(indent=1))
    print(f"{out}: {len(t.segments)} segments, {sum(len(s.text.split()) for s in t.segments)} words, "
          f"{t.meta.duration_s / 60:.0f} min")
