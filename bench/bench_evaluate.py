"""Draft-scorecard benchmarks, printed as ratios from one run.

    .venv/bin/python bench/bench_evaluate.py [--latency 0.5] [--concurrency 4] [--repeat 2] [--only wall]

1. Prompt tokens per stage evaluation on the samples, against the naive approach of sending the
   whole transcript once per criterion (both counted the same way: characters / 4 of every message).
   Target: at most one third.
2. Wall time against the local scripted OpenAI-compatible server with a fixed latency per call,
   against the ideal: load + align time + (ceil(criteria / concurrency) + 1) x latency (the +1 is the
   overall recommendation, which is asked after the criteria it rests on); in fresh processes, with
   openai pre-imported, imported cold by the first wave, and warmed up in the background (`warm_up`).
3. Everything outside the LLM calls (read, roles, align, passages, verify, write) for a 90-minute
   transcript, with an in-process model that answers instantly. Target: under 2 seconds.
4. An answer with 10,000 quotes against one with 3: validating it as the response model (rejected:
   more than 8 quotes, so the client re-asks) and enforcing the evidence rules on its claims (at most
   8 are verified, on one QuoteIndex per draft). Target: well under a second each.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests"))

SAMPLES = [("samples/cam-screening-strong.vtt", "screening"), ("samples/cam-screening-weak-skips.txt", "screening"),
           ("samples/cam-hiring-manager.txt", "hiring-manager"),
           ("samples/cam-work-sample-retention-call.srt", "work-sample"),
           ("samples/cso-behavioral-strong.txt", "behavioral"), ("samples/cso-behavioral-weak.vtt", "behavioral")]
LINE = re.compile(r"^\[(s\d+), [^,\]]+, CANDIDATE\] (.*)$", re.M)


def tokens(messages) -> int:
    """Token estimate used for both sides: characters / 4."""
    return sum(len(m["content"]) for m in messages) // 4


def answer(body: dict) -> dict:
    """A well-behaved model: quotes the first candidate line, scores 3."""
    user = body["messages"][-1]["content"]
    if "OVERALL RECOMMENDATION" in user:
        return {"score": 3, "rationale": "r", "based_on": [], "quotes": []}
    m = LINE.search(user)
    quotes = [{"segment_id": m.group(1), "quote": " ".join(m.group(2).split()[:12])}] if m else []
    return {"score": 3 if quotes else 0, "rationale": "r", "quotes": quotes}


def token_ratio() -> None:
    from evaluator.align import align
    from evaluator.guide import CriterionKind, load_guide
    from evaluator.inputs import load_interview
    from evaluator.score import EvaluateOptions, _Ctx, criterion_messages, passages_for, stage_budget
    from evaluator.scorecard import Passage

    print("1. prompt tokens per stage evaluation (ours vs whole transcript per criterion)")
    tot_ours = tot_naive = 0
    for sample, stage_id in SAMPLES:
        guide = load_guide("customer-success-operations-specialist" if "/cso-" in sample else "customer-account-manager")
        stage = guide.stage(stage_id)
        t = load_interview(REPO / sample, guide=guide)
        ctx = _Ctx(transcript=t, stage=stage, alignment=align(t, stage))
        whole = [Passage(segment_ids=[s.id for s in t.segments], text="\n".join(ctx.line(s) for s in t.segments))]
        ours = naive = 0
        for c in stage.scorecard:
            if c.kind == CriterionKind.overall:
                continue
            budget = stage_budget(stage, EvaluateOptions())
            ours += tokens(criterion_messages(guide, stage, c, passages_for(ctx, c, budget_tokens=budget),
                                              EvaluateOptions()))
            naive += tokens(criterion_messages(guide, stage, c, whole, EvaluateOptions()))
        tot_ours, tot_naive = tot_ours + ours, tot_naive + naive
        print(f"   {Path(sample).name:42s} {ours:7d} vs {naive:7d} tokens  ratio {ours / naive:.2f}")
    ratio = tot_ours / tot_naive
    print(f"   all samples: {tot_ours} vs {tot_naive} tokens, ratio {ratio:.2f} "
          f"(target <= 0.33: {'met' if ratio <= 1 / 3 else 'NOT met'})")


def wall_time(latency: float, concurrency: int, repeat: int) -> None:
    """The LLM wave at a fixed stub latency, each variant in a fresh process (so `openai` is really not yet
    imported), against the ideal: the same run's time to load and align + (ceil(criteria / concurrency)
    + 1) x latency. Variants: `preimported` (openai imported before the clock starts: the calls alone),
    `cold` (the client imports openai when the first wave starts, as a first run does), `warm_up`
    (`LLMClient.warm_up()` on a background thread from the start, while the guide, transcript and
    alignment load). Best of `repeat` runs each."""
    import json
    import os
    import subprocess

    from openai_stub import OpenAIStub

    print(f"2. wall time, concurrency {concurrency}, {latency:.2f} s per call (fresh process per run, "
          f"best of {repeat})")
    with OpenAIStub(handler=answer, latency_s=latency) as server:
        for variant in ("preimported", "cold", "warm_up"):
            runs = []
            for _ in range(repeat):
                server.reset()
                out = subprocess.run([sys.executable, __file__, "--wave-child", variant, "--base-url", server.base_url,
                                      "--latency", str(latency), "--concurrency", str(concurrency)],
                                     capture_output=True, text=True, env=os.environ.copy())
                if out.returncode != 0:
                    print(f"   {variant}: failed: {out.stderr.strip().splitlines()[-1:]}")
                    break
                run = json.loads(out.stdout.strip().splitlines()[-1])
                if server.requests:  # both clocks are CLOCK_MONOTONIC: from aligned to the first request sent
                    run["first_request_s"] = min(r.received_at for r in server.requests) - run.get("aligned_at", 0)
                runs.append(run)
            if not runs:
                continue
            if runs[0].get("unsupported"):
                print(f"   {variant:12s} not available in this version")
                continue
            best = min(runs, key=lambda r: r["wall_s"] / r["ideal_s"])
            print(f"   {variant:12s} {best['wall_s']:.2f} s vs ideal {best['ideal_s']:.2f} s: ratio "
                  f"{best['wall_s'] / best['ideal_s']:.2f}  (load+align {best['align_s']:.2f} s, then "
                  f"{best.get('first_request_s', float('nan')):.2f} s to the first request; {best['criteria']} "
                  f"criteria + overall; statuses {best['statuses']})")


def wave_child(variant: str, base_url: str, latency: float, concurrency: int) -> None:
    """One run of `wall_time` (in its own process): prints one JSON line of timings."""
    import json
    import threading

    from evaluator.llm import LLMClient, settings_from

    with tempfile.TemporaryDirectory() as cache:
        client = LLMClient(settings_from(base_url=base_url, api_key="k", cache_dir=cache, use_cache=False,
                                         concurrency=concurrency))
        if variant == "warm_up" and not hasattr(client, "warm_up"):
            print(json.dumps({"unsupported": True}))
            return
        if variant == "preimported":
            import openai  # noqa: F401

        t0 = time.perf_counter()
        if variant == "warm_up":
            threading.Thread(target=client.warm_up, name="llm-warm-up", daemon=True).start()
        from evaluator.align import align
        from evaluator.guide import CriterionKind, load_guide
        from evaluator.inputs import load_interview
        from evaluator.score import evaluate

        guide = load_guide("customer-account-manager")
        stage = guide.stage("screening")
        t = load_interview(REPO / "samples/cam-screening-strong.vtt", guide=guide)
        al = align(t, stage)
        align_s = time.perf_counter() - t0
        aligned_at = time.monotonic()
        d = evaluate(t, guide, stage, al, client=client)
        wall = time.perf_counter() - t0
    n = sum(c.kind != CriterionKind.overall for c in stage.scorecard)
    ideal = align_s + (math.ceil(n / concurrency) + 1) * latency
    print(json.dumps({"wall_s": wall, "ideal_s": ideal, "align_s": align_s, "aligned_at": aligned_at, "criteria": n,
                      "statuses": sorted({s.status for s in d.scores})}))


class InstantClient:
    """An in-process model that answers at once (no HTTP): isolates everything outside the LLM calls."""

    def map_complete(self, jobs, on_done=None):
        return [self._one(j.messages, j.response_model) for j in jobs]

    def complete(self, messages, response_model, *, prompt_id, prompt_version, cache_salt=None):
        return self._one(messages, response_model)

    @staticmethod
    def _one(messages, model):
        from evaluator.llm import Completion, Usage

        value = model.model_validate(answer({"messages": list(messages)}) | (
            {"based_on": []} if "based_on" in model.model_fields else {}))
        return Completion(value=value, usage=Usage(), cached=False, attempts=1, model="instant",
                          prompt_id="x", prompt_version="x")


def outside_llm() -> None:
    from long_transcript import long_transcript

    from evaluator.align import align
    from evaluator.files import atomic_write
    from evaluator.formats import read_transcript
    from evaluator.guide import load_guide
    from evaluator.roles import assign_roles
    from evaluator.score import evaluate

    guide = load_guide("customer-account-manager")
    stage = guide.stage("screening")
    long = long_transcript()
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "long.json"
        src.write_text(long.model_dump_json())
        t0 = time.perf_counter()
        read_transcript(src)
        base = time.perf_counter() - t0
        t0 = time.perf_counter()
        t = assign_roles(read_transcript(src))
        draft = evaluate(t, guide, stage, align(t, stage, guide=guide), client=InstantClient())
        atomic_write(Path(d) / "draft.json", draft.model_dump_json(indent=2))
        total = time.perf_counter() - t0
    words = sum(len(s.text.split()) for s in long.segments)
    print(f"3. outside the LLM calls, {words}-word transcript: {total:.2f} s "
          f"(reading alone {base * 1000:.0f} ms; ratio {total / base:.0f}x; target < 2 s: "
          f"{'met' if total < 2 else 'NOT met'}); quotes verified {draft.evidence.verified}")


def many_quotes() -> None:
    import json
    import random

    from pydantic import ValidationError

    from evaluator.evidence import QuoteIndex
    from evaluator.guide import load_guide
    from evaluator.inputs import load_interview
    from evaluator.score import QuoteClaim, apply_evidence_rules, assessment_model

    guide = load_guide("customer-account-manager")
    c = guide.stage("screening").scorecard[0]
    t = load_interview(REPO / "samples/cam-screening-strong.vtt", guide=guide)
    cands = [s for s in t.segments if s.role.value == "candidate" and len(s.text.split()) > 12]
    rng = random.Random(3)

    def claim(k: int) -> dict:
        seg = cands[k % len(cands)]
        words = seg.text.split()
        a = rng.randrange(0, len(words) - 8)
        quote = " ".join(words[a: a + 8])
        if k % 3 == 0:  # a misquote: takes the fuzzy path
            quote = quote.replace("e", "a", 1)
        return {"segment_id": seg.id, "quote": quote}

    def timed(n: int) -> tuple[float, float]:
        body = json.dumps({"score": 3, "rationale": "r", "quotes": [claim(k) for k in range(n)]})
        model = assessment_model(c)
        t0 = time.perf_counter()
        try:
            model.model_validate_json(body)
        except ValidationError:
            pass
        validate = time.perf_counter() - t0
        claims = [QuoteClaim(**q) for q in json.loads(body)["quotes"]]
        t0 = time.perf_counter()
        index = QuoteIndex(t)
        apply_evidence_rules(c, 3, "r", claims, index, [])
        return validate, time.perf_counter() - t0

    for _ in range(2):  # warm imports and caches
        timed(3)
    v3, e3 = timed(3)
    v10k, e10k = timed(10_000)
    print("4. an answer with 10,000 quotes vs one with 3")
    print(f"   validation: {v10k * 1000:.1f} ms vs {v3 * 1000:.2f} ms (ratio {v10k / v3:.0f}x); "
          f"evidence rules (index + verify): {e10k * 1000:.1f} ms vs {e3 * 1000:.1f} ms (ratio {e10k / e3:.1f}x); "
          f"target < 1 s: {'met' if max(v10k, e10k) < 1 else 'NOT met'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency", type=float, default=0.5)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=2, help="runs per wall-time variant (best is shown)")
    ap.add_argument("--only", choices=["tokens", "wall", "outside", "quotes"], help="run one benchmark")
    ap.add_argument("--wave-child", help=argparse.SUPPRESS)
    ap.add_argument("--base-url", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.wave_child:
        wave_child(args.wave_child, args.base_url, args.latency, args.concurrency)
        return
    if args.only in (None, "tokens"):
        token_ratio()
    if args.only in (None, "wall"):
        wall_time(args.latency, args.concurrency, args.repeat)
    if args.only in (None, "outside"):
        outside_llm()
    if args.only in (None, "quotes"):
        many_quotes()


if __name__ == "__main__":
    main()
