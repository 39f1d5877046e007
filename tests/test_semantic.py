"""The bundled static embedding model: offline, lazy, and meaningful enough to be a signal."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from evaluator import semantic

from conftest import REPO


def test_embed_gives_unit_rows_and_a_zero_row_for_empty_text():
    v = semantic.embed(["How do you keep up with edtech?", "", "How do you keep up with edtech?"])
    assert v.shape == (3, 256) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v[[0, 2]], axis=1), 1.0, atol=1e-5) and not v[1].any()
    assert np.array_equal(v[0], v[2])


def test_a_paraphrase_is_closer_than_a_question_about_something_else():
    s = semantic.similarity(["How comfortable are you with high-volume outreach, such as making 60-70 calls per day?"],
                            ["How do you feel about sixty to seventy calls a day?",
                             "Tell me about a time you upsold a customer."])
    assert s[0, 0] > s[0, 1] + 0.1


def test_a_window_vector_is_the_sum_of_its_sentences():
    a, b = "Tell me about your last role.", "What did they measure you on?"
    sums = semantic.embed([a, b], unit=False)
    together = semantic.unit_rows(sums.sum(axis=0, keepdims=True))
    assert np.allclose(together, semantic.embed([a + " " + b]), atol=1e-5)


def test_the_model_ships_with_its_licence_and_attribution():
    files = {p.name for p in semantic.MODEL_DIR.iterdir()}
    assert {"LICENSE", "NOTICE", "tokenizer.json", "vectors.npy", "scales.npy", "model.json"} <= files
    assert "Apache License" in (semantic.MODEL_DIR / "LICENSE").read_text()
    assert "all-MiniLM-L6-v2" in (semantic.MODEL_DIR / "NOTICE").read_text()
    size = sum((semantic.MODEL_DIR / f).stat().st_size for f in files)
    assert size < 4_000_000, size


def test_importing_the_cli_and_the_aligner_loads_neither_numpy_nor_the_model():
    code = ("import sys, evaluator.cli, evaluator.align; "
            "print('numpy' in sys.modules, 'evaluator.semantic' in sys.modules, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"], out.stdout
