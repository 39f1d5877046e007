#!/usr/bin/env python3
"""Regenerate the synthetic interview recordings in samples/audio/ (espeak-ng + sox + PyAV).

Edit the SCRIPTS below and run:

    apt-get install -y espeak-ng sox        # once
    .venv/bin/python bench/make_sample_audio.py

For every script it writes, beside each other in samples/audio/:
  <name>.ogg      Opus in Ogg, 16 kHz (mono, or stereo with one party per channel)
  <name>.ref.txt  the reference transcript, `[mm:ss] Name: words`, for WER (bench/bench_transcribe.py)
  <name>.rttm     the speaker turns (mono scripts only), as a diarizer (pyannote) would write them

Turn times come from the synthesized audio itself (leading/trailing silence trimmed), so the RTTM
and reference timestamps match what is heard.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 16000
ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "samples" / "audio"

# Two clearly distinct voices at a moderate speed (words per minute).
VOICES = {
    "interviewer": ("en-us+m3", 150),
    "candidate": ("en-gb+f2", 150),
}


@dataclass
class Line:
    """One turn of a script: who speaks (a VOICES key), the name in the reference, and the words."""

    voice: str
    name: str
    text: str
    rttm_speaker: str = ""
    gap_s: float = 0.7  # silence before this turn; negative = overlap the previous turn


# (a) Screening interview, Customer Account Manager: questions 2-4 of the guide's "Screening Interview".
SCREENING = [
    Line("interviewer", "Interviewer", "Thanks for joining today. Let's start with your background. "
         "Tell me about your most recent role in customer success or account management. "
         "What were your key responsibilities and performance metrics?", "SPEAKER_00", 0.5),
    Line("candidate", "Candidate", "For the last three years I was an account manager at a software company "
         "that sells to schools. I managed about 120 accounts. My main metrics were renewal rate and "
         "expansion revenue, and last year my retention rate was 94 percent.", "SPEAKER_01"),
    Line("interviewer", "Interviewer", "How comfortable are you with high-volume outreach, such as making "
         "60 to 70 calls per day?", "SPEAKER_00"),
    Line("candidate", "Candidate", "Very comfortable. In my current job I make around 50 calls a day. "
         "I block my calendar into call sprints, and I keep short notes in the CRM so every call "
         "still feels personal.", "SPEAKER_01"),
    Line("interviewer", "Interviewer", "Can you give me an example of how you've used data to inform your "
         "customer retention strategies?", "SPEAKER_00"),
    Line("candidate", "Candidate", "Yes. I built a dashboard of weekly teacher logins. When usage dropped "
         "for two weeks in a row, I called the school and offered a training session. "
         "That cut churn in my book of business by a third.", "SPEAKER_01"),
    Line("interviewer", "Interviewer", "That's helpful. What tools did you use for that analysis?", "SPEAKER_00"),
    Line("candidate", "Candidate", "Mostly Salesforce reports and a Google Sheet, and I shared a short "
         "summary with my manager every Monday.", "SPEAKER_01"),
]

# (b) Work sample, mock customer retention call: the interviewer plays the at-risk Customer (left
# channel), the candidate plays the Account Manager (right channel).
RETENTION_CALL = [
    Line("interviewer", "Customer", "Hi, this is Jordan from Riverside Academy. Honestly, I'm calling "
         "because we're thinking about cancelling. Our teachers barely use the platform, and the renewal "
         "price went up.", gap_s=0.4),
    Line("candidate", "Account Manager", "Thanks for telling me directly, Jordan. I'm sorry it hasn't worked "
         "for your teachers. Can you tell me which classes stopped using it, and when?"),
    Line("interviewer", "Customer", "Mostly the middle school. After the update in January, the gradebook "
         "sync broke, and they went back to spreadsheets."),
    Line("candidate", "Account Manager", "That makes sense. I can see two support tickets about the sync. "
         "Here's what I suggest. Our team fixes the sync this week, and I run a 30 minute training for "
         "the middle school teachers. If usage doesn't recover in 60 days, we revisit the price."),
    Line("interviewer", "Customer", "Okay, that's fair. If the sync works, I'm willing to give it "
         "another term.", gap_s=-0.3),
    Line("candidate", "Account Manager", "Great. I'll send you a summary today with the dates, and I'll "
         "check in with you every two weeks."),
]

SCRIPTS = {
    # name: (lines, stereo channel order or None for mono)
    "cam-screening": (SCREENING, None),
    "cam-retention-call-stereo": (RETENTION_CALL, ("interviewer", "candidate")),
}


def synth(line: Line, tmp: Path, n: int) -> np.ndarray:
    """Speak one line with espeak-ng, resample to 16 kHz with sox, trim silence; float32 samples."""
    voice, wpm = VOICES[line.voice]
    raw, res = tmp / f"{n}.raw.wav", tmp / f"{n}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(wpm), "-w", str(raw), line.text], check=True)
    subprocess.run(["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(res)], check=True)
    with wave.open(str(res)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768.0
    loud = np.flatnonzero(np.abs(pcm) > 0.01)
    return pcm[loud[0]: loud[-1] + 1] if loud.size else pcm


def mmss(t: float) -> str:
    """[mm:ss] as in the reference transcripts."""
    s = int(t)
    return f"[{s // 60:02d}:{s % 60:02d}]"


def render(name: str, lines: list[Line], stereo: tuple[str, str] | None, out_dir: Path) -> list[Path]:
    """Synthesize one script into audio + reference (+ RTTM when mono); return the files written."""
    with tempfile.TemporaryDirectory() as td:
        clips = [synth(line, Path(td), i) for i, line in enumerate(lines)]
    starts, t = [], 0.0
    for line, clip in zip(lines, clips):
        t = max(0.0, t + line.gap_s)
        starts.append(t)
        t += len(clip) / RATE
    total = t + 0.8
    nch = 2 if stereo else 1
    mix = np.zeros((nch, int(total * RATE) + 1), dtype=np.float32)
    for line, clip, start in zip(lines, clips, starts):
        ch = stereo.index(line.voice) if stereo else 0
        i = int(start * RATE)
        mix[ch, i: i + len(clip)] += clip * 0.8
    # A little room noise so the file is not digitally silent between turns (like a real recording).
    rng = np.random.default_rng(7)
    mix += rng.normal(0, 0.002, mix.shape).astype(np.float32)
    mix = np.clip(mix, -1, 1)

    audio_path = out_dir / f"{name}.ogg"
    encode_opus(mix, audio_path)
    written = [audio_path]

    ref = out_dir / f"{name}.ref.txt"
    ref.write_text("".join(f"{mmss(s)} {l.name}: {l.text}\n" for l, s in zip(lines, starts)), encoding="utf-8")
    written.append(ref)
    if not stereo:
        rttm = out_dir / f"{name}.rttm"
        rttm.write_text("".join(
            f"SPEAKER {name} 1 {s:.3f} {len(c) / RATE:.3f} <NA> <NA> {l.rttm_speaker or l.name} <NA> <NA>\n"
            for l, c, s in zip(lines, clips, starts)), encoding="utf-8")
        written.append(rttm)
    return written


def encode_opus(mix: np.ndarray, path: Path, bitrate: int = 24000) -> None:
    """Encode float32 planar samples (channels x n) as Opus in Ogg at 16 kHz."""
    import av

    nch = mix.shape[0]
    layout = "stereo" if nch == 2 else "mono"
    pcm = (mix * 32767).astype(np.int16)
    with av.open(str(path), "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=RATE, layout=layout)
        stream.bit_rate = bitrate * nch
        step = 960
        for i in range(0, pcm.shape[1], step):
            chunk = np.ascontiguousarray(pcm[:, i: i + step].T).reshape(1, -1)  # packed s16
            frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout=layout)
            frame.sample_rate = RATE
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def main(argv: list[str] | None = None) -> int:
    """Regenerate all (or the named) sample recordings."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help=f"which scripts (default all: {', '.join(SCRIPTS)})")
    ap.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = ap.parse_args(argv)
    for tool in ("espeak-ng", "sox"):
        if not shutil.which(tool):
            print(f"error: {tool} not found — apt-get install -y espeak-ng sox", file=sys.stderr)
            return 1
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name in args.names or list(SCRIPTS):
        lines, stereo = SCRIPTS[name]
        for p in render(name, lines, stereo, args.out_dir):
            print(f"{p.relative_to(ROOT) if p.is_relative_to(ROOT) else p}  {p.stat().st_size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
