"""Suite loader: the format, errors that name the file and line, missing files per case."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.suite import SuiteError, load_suite

SUITES = Path(__file__).resolve().parents[1] / "eval" / "suites"

GOOD = """\
suite: demo
thresholds:
  min: {answer_accuracy: 1.0}
cases:
  - id: one
    family: slide_metadata
    slide: slide.svs
    provenance: made up for the test
    turns:
      - ask: What is the size?
        expect:
          tools: [slide_info]
          answer:
            - {kind: number, evidence: slide_info, path: width_px, value: 10}
  - id: two
    family: slide_metadata
    slide: absent.svs
    files: [labels.csv, gone.csv]
    provenance: made up for the test
    turns:
      - ask: What is the size?
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    (tmp_path / "slide.svs").write_bytes(b"x")
    (tmp_path / "labels.csv").write_text("a\n")
    return path


def test_loads_and_records_missing_files_per_case(tmp_path: Path) -> None:
    suite = load_suite(_write(tmp_path, GOOD), tmp_path)
    assert suite.suite == "demo"
    assert [c.id for c in suite.cases] == ["one", "two"]
    assert suite.cases[0].turns[0].expect.answer[0].kind == "number"
    assert suite.missing == {"two": ["absent.svs", "gone.csv"]}


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    bad = GOOD.replace(
        "    family: slide_metadata\n    slide: slide.svs", "    family: [x\n    slide: y"
    )
    path = _write(tmp_path, bad)
    with pytest.raises(SuiteError, match=rf"^{path}:\d+: not valid YAML") as info:
        load_suite(path, tmp_path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("old", "new", "line", "where"),
    [
        ("value: 10}", "value: ten}", 14, "cases.0.turns.0.expect.answer.0.value"),
        ("{kind: number,", "{kind: count,", 14, "cases.0.turns.0.expect.answer.0"),
        ("        expect:\n", "        expects:\n", 11, "cases.0.turns.0.expects"),
        ("    provenance: made up for the test\n    turns:\n      - ask: What is the size?\n"
         "        expect", "    turns:\n      - ask: What is the size?\n        expect", 5,
         "cases.0.provenance"),
        ("  - id: two", "  - id: one", 1, "suite"),
    ],
)  # fmt: skip
def test_schema_error_names_file_line_and_field(
    tmp_path: Path, old: str, new: str, line: int, where: str
) -> None:
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(SuiteError) as info:
        load_suite(path, tmp_path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: {where}"), message
    assert "\n" not in message


def test_not_a_mapping(tmp_path: Path) -> None:
    path = _write(tmp_path, "- just\n- a list\n")
    with pytest.raises(SuiteError, match=r":1: a suite is a mapping"):
        load_suite(path, tmp_path)


def test_threshold_label_value_must_be_one_of_its_labels(tmp_path: Path) -> None:
    text = GOOD.replace(
        "{kind: number, evidence: slide_info, path: width_px, value: 10}",
        "{kind: threshold_label, task: t, evidence: tissue, path: tissue_fraction, "
        "threshold: 0.1, above: tissue, below: background, value: fat}",
    )
    with pytest.raises(SuiteError, match=r":14: .*neither above"):
        load_suite(_write(tmp_path, text), tmp_path)


@pytest.mark.parametrize("path", sorted(SUITES.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_suites_are_valid(path: Path, tmp_path: Path) -> None:
    suite = load_suite(path, tmp_path)  # an empty data root: every case reports its files
    assert suite.cases
    assert all(case.provenance.strip() for case in suite.cases)
    assert set(suite.missing) == {c.id for c in suite.cases}


@pytest.mark.shared_data
@pytest.mark.parametrize("path", sorted(SUITES.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_suites_find_their_files(path: Path, shared_data: Path) -> None:
    assert load_suite(path, shared_data).missing == {}
