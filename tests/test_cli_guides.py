"""`interview-eval guides ...`: import, show, list, validate, schema, and every bad input."""

from __future__ import annotations

import json

import pytest
import yaml

from conftest import DATA, REPO

MINIMAL = """\
id: tiny
role: Tiny Role
stages:
- id: screening
  name: Screening Interview
  kind: screening
  questions:
  - id: screening-q1
    text: Tell me about your last role.
  scorecard:
  - id: experience
    name: Experience
    anchors:
      0: Not Enough Information Gathered to Evaluate
      1: None
      2: Some
      3: Solid
      4: Deep
"""


def _one_red_line(result):
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    return lines[0]


def test_import_writes_yaml_and_reports_counts(run_cli, seeds_dir, tmp_path):
    out = tmp_path / "cam.yaml"
    r = run_cli(["guides", "import", seeds_dir / "000_e0d86f1303fc4141.txt", "-o", out, "--json"])
    assert r.exit_code == 0, r.stderr
    summary = json.loads(r.stdout)
    assert [(s["id"], s["questions"], s["criteria"]) for s in summary["stages"]][:2] == [
        ("screening", 7, 7), ("work-sample", 0, 7)]
    assert yaml.safe_load(out.read_text())["role"] == "Customer Account Manager"


def test_list_shows_both_bundled_guides(run_cli):
    r = run_cli(["guides", "list", "--json"])
    assert r.exit_code == 0
    names = {row["name"] for row in json.loads(r.stdout)}
    assert names == {"customer-account-manager", "customer-success-operations-specialist"}


def test_show_one_stage_by_full_name_lists_questions_areas_and_anchors(run_cli):
    r = run_cli(["guides", "show", "customer-account-manager", "--stage", "Behavioral Competency Interview"])
    assert r.exit_code == 0, r.stderr
    assert "behavioral-q1" in r.stdout
    assert "Areas to cover: Nature of the change and its impact" in r.stdout
    assert "0: Not Enough Information Gathered to Evaluate" in r.stdout
    assert "Screening Interview" not in r.stdout


def test_show_by_path_with_stage_id_and_json(run_cli):
    r = run_cli(["guides", "show", REPO / "rubrics" / "customer-success-operations-specialist.yaml",
                 "--stage", "work-sample", "--json"])
    assert r.exit_code == 0
    stages = json.loads(r.stdout)
    assert stages[0]["id"] == "work-sample" and len(stages[0]["scorecard"]) == 12


def test_validate_reports_unmatched_tags_as_warnings(run_cli):
    r = run_cli(["guides", "validate", "customer-success-operations-specialist", "--json"])
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert doc["valid"] is True
    assert any("Process Optimization" in w for w in doc["warnings"])


def test_schema_is_json_schema_of_the_guide(run_cli, tmp_path):
    r = run_cli(["guides", "schema"])
    schema = json.loads(r.stdout)
    assert schema["title"] == "Guide"
    assert "stages" in schema["required"]


def test_unknown_stage_lists_the_valid_ones(run_cli):
    r = run_cli(["guides", "show", "customer-account-manager", "--stage", "lunch"])
    assert r.exit_code == 2
    line = _one_red_line(r)
    assert "unknown stage 'lunch'" in line and "screening" in line and "reference-check" in line


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("missing.txt", None, "no such guide"),
        ("empty.txt", b"", "is empty"),
        ("README.md", b"# My project\n\nIt does things.\n", "no interview stages found"),
        ("blob.bin", bytes(range(256)) * 4, "binary"),
        ("latin1.txt", "Screening Interview\nDirections for the Interviewer\nCaf\xe9\n".encode("latin-1"),
         "not valid UTF-8"),
    ],
)
def test_import_bad_input_fails_with_one_line_and_writes_nothing(run_cli, tmp_path, name, content, expected):
    src = tmp_path / name
    if content is not None:
        src.write_bytes(content)
    out = tmp_path / "out.yaml"
    r = run_cli(["guides", "import", src, "-o", out])
    assert r.exit_code == 1
    assert expected in _one_red_line(r)
    assert not out.exists()
    assert not list(tmp_path.glob(".out.yaml.*"))


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda t: t.replace("stages:\n", "stages: []\n#", 1).split("#")[0], "no stages"),
        (lambda t: t.replace("      4: Deep", "      5: Deep"), "outside 0-4"),
        (lambda t: t + "  - id: experience\n    name: Experience again\n    anchors: {1: a, 2: b}\n",
         "duplicate criterion id 'experience'"),
        (lambda t: t.replace("    name: Experience\n    anchors:\n      0: Not Enough Information Gathered to Evaluate\n"
                             "      1: None\n      2: Some\n      3: Solid\n      4: Deep\n",
                             "    name: Experience\n    anchors: {}\n"), "needs anchors"),
        (lambda t: t.replace("role: Tiny Role", "role: Tiny Role\ncolour: blue"), "unknown field 'colour'"),
        (lambda t: t.replace("  questions:", "  questionz:"), "unknown field 'questionz'"),
    ],
)
def test_validate_bad_yaml_names_the_line_and_the_problem(run_cli, tmp_path, edit, expected):
    p = tmp_path / "guide.yaml"
    p.write_text(edit(MINIMAL))
    r = run_cli(["guides", "validate", p])
    assert r.exit_code == 1, r.stdout
    line = _one_red_line(r)
    assert expected in line
    assert str(p) in line


def test_validate_error_points_at_the_yaml_line(run_cli, tmp_path):
    p = tmp_path / "guide.yaml"
    p.write_text(MINIMAL.replace("      4: Deep", "      7: Deep"))
    line = _one_red_line(run_cli(["guides", "validate", p]))
    assert ", line 18:" in line


def test_minimal_guide_validates(run_cli, tmp_path):
    p = tmp_path / "guide.yaml"
    p.write_text(MINIMAL)
    r = run_cli(["guides", "validate", p])
    assert r.exit_code == 0, r.stderr


def test_validate_refuses_a_binary_and_a_non_guide_yaml(run_cli, tmp_path):
    (tmp_path / "x.yaml").write_bytes(b"\x00\x01\x02binary")
    assert "binary" in _one_red_line(run_cli(["guides", "validate", tmp_path / "x.yaml"]))
    (tmp_path / "y.yaml").write_text("- just\n- a list\n")
    assert "not an interview guide" in _one_red_line(run_cli(["guides", "validate", tmp_path / "y.yaml"]))


def test_import_third_role_guide_from_the_cli(run_cli, tmp_path):
    out = tmp_path / "da.yaml"
    r = run_cli(["guides", "import", DATA / "guides" / "data-analyst.txt", "-o", out])
    assert r.exit_code == 0, r.stderr
    assert "Storytelling" in r.stderr  # the unmatched tag is reported
    r = run_cli(["guides", "show", out, "--stage", "Technical Deep Dive"])
    assert r.exit_code == 0 and "technical-deep-dive-q1" in r.stdout


def test_help_is_available_everywhere(run_cli):
    for args in (["--help"], ["guides", "--help"], ["guides", "import", "--help"], ["guides", "show", "--help"]):
        r = run_cli(args)
        assert r.exit_code == 0 and "Usage" in r.stdout


def test_the_installed_package_carries_prompts_and_rubrics():
    import evaluator
    from evaluator.prompts import load_prompt
    from evaluator.resources import prompts_dir, rubrics_dir

    assert {p.stem for p in rubrics_dir().glob("*.yaml")} >= {"customer-account-manager",
                                                               "customer-success-operations-specialist"}
    for name in ("score_criterion", "score_overall", "areas_to_cover", "reask", "json_mode"):
        assert load_prompt(name).version
    if "site-packages" in evaluator.__file__:  # a real (non-editable) install: the data is inside the package
        assert prompts_dir().parent.name == "_data" and rubrics_dir().parent.name == "_data"
