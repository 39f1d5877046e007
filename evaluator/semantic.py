"""Meaning, not words: sentence embeddings from a static model shipped inside the package.

The model is a static (model2vec-style) embedding distilled from the Apache-2.0 sentence model
all-MiniLM-L6-v2 (see `evaluator/_models/minilm-l6-static/NOTICE`): one vector per word piece,
a sentence is the mean of its pieces, compared by cosine. No torch, no network: the BERT word-piece
tokenizer (`tokenizers`) and one int8 matrix (`numpy`). Loaded on first use, once per process.

    >>> from evaluator import semantic
    >>> semantic.similarity(["Why should we hire you?"], ["What makes you the right person for us?"])
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from evaluator.errors import AlignmentError

if TYPE_CHECKING:
    import numpy as np

MODEL_NAME = "minilm-l6-static"
MODEL_DIR = Path(__file__).resolve().parent / "_models" / MODEL_NAME
# Vectors of recently embedded texts: stage detection aligns the same transcript to every stage.
_CACHE_SIZE = 50_000


@dataclass
class _Model:
    tokenizer: object
    vectors: "np.ndarray"  # (vocabulary, dims) int8, memory-mapped
    scales: "np.ndarray"  # float32, one per row of `vectors`: the real vector is vectors[i] * scales[i]
    rows: "np.ndarray | None"  # word piece -> row of `vectors`, when pieces share rows (a quantised vocabulary)
    version: str


@lru_cache(maxsize=1)
def _model() -> _Model:
    try:
        import numpy as np
        from tokenizers import Tokenizer
    except ImportError as e:  # pragma: no cover - both are install requirements
        raise AlignmentError(f"the semantic model needs {e.name}, which is not installed",
                             hint="reinstall interview-eval (pip install interview-eval)") from e
    files = {n: MODEL_DIR / n for n in ("tokenizer.json", "vectors.npy", "scales.npy", "model.json")}
    missing = [n for n, p in files.items() if not p.is_file()]
    if missing:
        raise AlignmentError(f"{MODEL_DIR}: the bundled semantic model is incomplete (missing {', '.join(missing)})",
                             hint="reinstall interview-eval; the model ships inside the package")
    tokenizer = Tokenizer.from_file(str(files["tokenizer.json"]))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    # memory-mapped: only the rows a transcript uses are read, so loading costs almost nothing
    vectors = np.load(files["vectors.npy"], mmap_mode="r")
    scales = np.load(files["scales.npy"])
    rows = np.load(MODEL_DIR / "rows.npy").astype(np.int64) if (MODEL_DIR / "rows.npy").is_file() else None
    meta = json.loads(files["model.json"].read_text(encoding="utf-8"))
    return _Model(tokenizer=tokenizer, vectors=vectors, scales=scales, rows=rows,
                  version=f"{meta.get('name', MODEL_NAME)}/{meta.get('version', '?')}")


def model_version() -> str:
    """The name and version of the bundled model, for provenance in outputs."""
    return _model().version


_cache: dict[str, "np.ndarray"] = {}  # text -> sum of its word-piece vectors


def embed(texts: Sequence[str], *, unit: bool = True) -> "np.ndarray":
    """One row per text: unit-length vectors (a text with no known word pieces gets a zero row).

    `unit=False` gives the sums of the word-piece vectors instead: the vector of several texts
    together is the normalised sum of their sums, so a window of sentences costs no new tokenising."""
    import numpy as np

    m = _model()
    dims = int(m.vectors.shape[1])
    todo = list(dict.fromkeys(t for t in texts if t not in _cache))
    if todo:
        encs = m.tokenizer.encode_batch(todo, add_special_tokens=False)
        lengths = np.array([len(e.ids) for e in encs])
        flat = np.fromiter((i for e in encs for i in e.ids), dtype=np.int64, count=int(lengths.sum()))
        if m.rows is not None:
            flat = m.rows[flat]
        sums = np.zeros((len(todo), dims), dtype=np.float32)
        nonempty = lengths > 0
        if flat.size:
            starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
            rows = m.vectors[flat].astype(np.float32) * m.scales[flat, None]
            sums[nonempty] = np.add.reduceat(rows, starts[nonempty], axis=0)
        if len(_cache) + len(todo) > _CACHE_SIZE:
            _cache.clear()
        _cache.update(zip(todo, sums))
    out = np.stack([_cache[t] for t in texts]) if texts else np.zeros((0, dims), dtype=np.float32)
    return unit_rows(out) if unit else out


def unit_rows(a: "np.ndarray") -> "np.ndarray":
    """Rows scaled to unit length (zero rows stay zero)."""
    import numpy as np

    norms = np.linalg.norm(a, axis=1, keepdims=True)
    return np.divide(a, norms, out=np.zeros_like(a), where=norms > 0)


def similarity(a: "Sequence[str] | np.ndarray", b: "Sequence[str] | np.ndarray") -> "np.ndarray":
    """Cosine similarity of every text (or vector) in `a` with every one in `b`: shape (len(a), len(b))."""
    import numpy as np

    va = a if isinstance(a, np.ndarray) else embed(list(a))
    vb = b if isinstance(b, np.ndarray) else embed(list(b))
    if not len(va) or not len(vb):
        return np.zeros((len(va), len(vb)), dtype=np.float32)
    return va @ vb.T
