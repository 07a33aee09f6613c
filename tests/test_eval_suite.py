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


REFS = """\
suite: refs
cases:
  - id: one
    family: nuclei
    slide: slide.svs
    provenance: made up for the test
    labels:
      - {file: labels.csv, key: slide.svs, value: NORM}
      - {file: table.tsv, key_column: id, key: "DOID:1", column: site, value: lung, match: contains}
    turns:
      - ask: Detect the nuclei
        expect:
          answer:
            - {kind: detection, task: d, evidence: detect, path: objects,
               reference: ref.npz, array: masks}
  - id: two
    family: nuclei
    slide: slide.svs
    provenance: made up for the test
    labels:
      - {file: gone.csv, key: x, value: y}
    turns:
      - ask: Segment the nuclei
        expect:
          answer:
            - {kind: mask, task: m, evidence: segment, path: masks,
               reference: gone.npz, array: masks}
"""


def _write_refs(tmp_path: Path, text: str) -> Path:
    import numpy as np

    path = tmp_path / "refs.yaml"
    path.write_text(text)
    (tmp_path / "slide.svs").write_bytes(b"x")
    (tmp_path / "labels.csv").write_text("file,label\nslide.svs,NORM\nother.svs,CHOL\n")
    (tmp_path / "table.tsv").write_text("id\tsite\nDOID:1\tlung; left upper lobe\n")
    np.savez(tmp_path / "ref.npz", masks=np.zeros((4, 4), dtype=np.int32))
    return path


def test_reference_files_and_labels_are_checked(tmp_path: Path) -> None:
    suite = load_suite(_write_refs(tmp_path, REFS), tmp_path)
    assert suite.missing == {"two": ["gone.csv", "gone.npz"]}  # reported per case, run goes on


@pytest.mark.parametrize(
    ("old", "new", "line", "reason"),
    [
        ("key: slide.svs, value: NORM", "key: slide.svs, value: CHOL", 8,
         "labels.csv: label of 'slide.svs' is 'NORM', which is not 'CHOL'"),
        ("key: slide.svs, value: NORM", "key: absent.svs, value: NORM", 8,
         "no row with file = 'absent.svs'"),
        ("value: lung, match: contains", "value: liver, match: contains", 9,
         "which does not contain 'liver'"),
        ("value: lung, match: contains", "value: lung", 9, "which is not 'lung'"),
        ("column: site", "column: organ", 9, "no column 'organ'"),
        ("reference: ref.npz, array: masks", "reference: ref.npz, array: labels", 15,
         "ref.npz holds no array 'labels' \\(it holds masks\\)"),
    ],
)  # fmt: skip
def test_wrong_label_or_array_names_file_and_line(
    tmp_path: Path, old: str, new: str, line: int, reason: str
) -> None:
    path = _write_refs(tmp_path, REFS.replace(old, new, 1))
    with pytest.raises(SuiteError, match=rf"^{path}:{line}: case one: .*{reason}"):
        load_suite(path, tmp_path)


def test_unreadable_reference_names_file_and_line(tmp_path: Path) -> None:
    path = _write_refs(tmp_path, REFS)
    (tmp_path / "ref.npz").write_text("not a zip")
    with pytest.raises(SuiteError, match=rf"^{path}:14: case one: .*not a readable .npz"):
        load_suite(path, tmp_path)


def test_choice_value_must_be_an_option(tmp_path: Path) -> None:
    text = GOOD.replace(
        "{kind: number, evidence: slide_info, path: width_px, value: 10}",
        "{kind: choice, task: q, options: [20x, 40x], value: 10x}",
    )
    with pytest.raises(SuiteError, match=r":14: .*not one of the options"):
        load_suite(_write(tmp_path, text), tmp_path)
