"""Every submission keeps its own result; LMS exports (Moodle, Canvas, Gradescope) are read as the LMS wrote
them; results written inside a class folder are never graded as students (issue 20, points 2 to 6)."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import pytest

from engine.exercises import load_exercise
from engine.grading import gradescope_metadata, scan_class
from engine.project import ProjectError
from tests.conftest import ROOT, run

EXERCISES = ROOT / "resources" / "exercises"
EXERCISE = EXERCISES / "ex13_inception_module.json"
GOOD = EXERCISES / "solutions" / "ex13_inception_module.json"
WRONG = EXERCISES / "wrong" / "ex13_inception_module" / "two_branches.json"


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def grade(folder: Path, out: Path, *extra: str):  # noqa: ANN201
    return run(
        "grade",
        str(EXERCISE),
        str(folder),
        "-o",
        str(out / "r.csv"),
        "--results-json",
        str(out / "gs"),
        "--feedback",
        str(out / "fb"),
        *extra,
    )


def test_every_submission_gets_its_own_output(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copy(GOOD, folder / "a b.json")  # "a b" and "a_b" sanitise to one name
    shutil.copy(WRONG, folder / "a_b.json")
    for sub, source in (("x", GOOD), ("y", WRONG)):  # one student, two files of one name
        (folder / "Ann" / sub).mkdir(parents=True)
        shutil.copy(source, folder / "Ann" / sub / "d.json")
    (folder / "Zed").mkdir()
    shutil.copy(GOOD, folder / "Zed" / "d.json")
    (folder / "zed.json").write_text("{")  # unreadable, and "zed" is "Zed" on macOS and Windows
    result = grade(folder, tmp_path)
    assert result.returncode == 0, result.stderr
    table = rows(tmp_path / "r.csv")
    outputs = [row["output"] for row in table]
    assert len(set(o.casefold() for o in outputs)) == len(table) == 6
    assert sorted(p.name for p in (tmp_path / "gs").iterdir() if p.is_dir()) == sorted(outputs)
    assert sorted(p.stem for p in (tmp_path / "fb").glob("*.md")) == sorted(outputs)
    for row in table:  # each file holds the result of its own submission
        gs = json.loads((tmp_path / "gs" / row["output"] / "results.json").read_text())
        assert gs["score"] == float(row["points"]), row["file"]
        assert f"`{row['file']}`" in (tmp_path / "fb" / f"{row['output']}.md").read_text()
    by_file = {row["file"]: row for row in table}
    assert (by_file["Ann/x/d.json"]["output"], by_file["Ann/y/d.json"]["output"]) == ("Ann-x-d", "Ann-y-d")
    assert by_file["Zed/d.json"]["points"] == "13" and by_file["zed.json"]["status"] == "unreadable"


def test_the_newest_of_a_students_files_counts_and_the_others_are_listed(tmp_path: Path) -> None:
    student = tmp_path / "class" / "Jane Doe_123456_assignsubmission_file_"
    student.mkdir(parents=True)
    shutil.copy(WRONG, student / "design.json")
    shutil.copy(GOOD, student / "design (1).json")
    os.utime(student / "design.json", (1_700_000_000, 1_700_000_000))
    os.utime(student / "design (1).json", (1_700_000_500, 1_700_000_500))
    result = grade(tmp_path / "class", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 student(s) handed in several files: the newest counts" in result.stdout
    by_file = {row["file"].split("/")[-1]: row for row in rows(tmp_path / "r.csv")}
    newest, older = by_file["design (1).json"], by_file["design.json"]
    assert (newest["counted"], older["counted"]) == ("yes", "no")
    assert newest["other_files"] == "Jane Doe_123456_assignsubmission_file_/design.json"
    assert (newest["student"], newest["name"], newest["user_id"]) == ("Jane Doe_123456", "Jane Doe", "123456")
    # Equal times (a zip extracted without them): the copy number decides.
    os.utime(student / "design.json", (1_700_000_000, 1_700_000_000))
    os.utime(student / "design (1).json", (1_700_000_000, 1_700_000_000))
    grade(tmp_path / "class", tmp_path)
    assert {row["file"].split("/")[-1]: row["counted"] for row in rows(tmp_path / "r.csv")} == {
        "design (1).json": "yes",
        "design.json": "no",
    }


def test_results_written_inside_the_class_folder_are_not_graded_again(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copy(GOOD, folder / "alice.json")
    shutil.copy(WRONG, folder / "bob.json")
    first = run(
        "grade",
        str(EXERCISE),
        str(folder),
        "-o",
        str(tmp_path / "r.csv"),
        "--results-json",
        str(folder / "out" / "gs"),
        "--feedback",
        str(folder / "feedback"),
    )
    assert first.returncode == 0, first.stderr
    assert (folder / "out" / "gs" / "alice" / "results.json").is_file() and (folder / "feedback" / "alice.md").is_file()
    second = run("grade", str(EXERCISE), str(folder), "-o", str(tmp_path / "again.csv"))  # without the output flags
    assert second.returncode == 0 and second.stdout.startswith("Graded 2 design(s) from 2 student(s)")
    assert [row["student"] for row in rows(tmp_path / "again.csv")] == ["alice", "bob"]
    refused = run("grade", str(EXERCISE), str(folder), "-o", str(tmp_path / "x.csv"), "--results-json", str(folder))
    assert refused.returncode == 2 and "is the class folder or holds it" in refused.stderr


def test_grade_and_similar_read_symlinked_student_folders(tmp_path: Path) -> None:
    store = tmp_path / "store"
    for name, source in (("alice", GOOD), ("bob", GOOD)):
        (store / name).mkdir(parents=True)
        shutil.copy(source, store / name / "design.json")
    links = tmp_path / "links"
    links.mkdir()
    for name in ("alice", "bob"):
        (links / name).symlink_to(store / name, target_is_directory=True)
    (links / "loop").symlink_to(links, target_is_directory=True)  # a cycle is walked once
    assert [s.student for s in scan_class(links).submissions] == ["alice", "bob"]
    similar = run("similar", str(links), "--json")
    assert similar.returncode == 0 and json.loads(similar.stdout)["identical"] == [
        ["alice/design.json", "bob/design.json"]
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    for command in (["grade", str(EXERCISE), str(empty), "-o", str(tmp_path / "e.csv")], ["similar", str(empty)]):
        result = run(*command)
        assert result.returncode == 2 and "no .json designs found" in result.stderr, command


def test_canvas_flat_download_names_are_taken_apart(tmp_path: Path) -> None:
    folder = tmp_path / "canvas"
    folder.mkdir()
    shutil.copy(GOOD, folder / "doejane_12345_67890_design.json")
    shutil.copy(WRONG, folder / "lilibob_late_22222_67891_design.json")
    shutil.copy(GOOD, folder / "lilibob_late_22222_67999_design-1.json")  # Canvas's name for a resubmission
    result = grade(folder, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "from 2 student(s)" in result.stdout
    table = {row["file"]: row for row in rows(tmp_path / "r.csv")}
    jane = table["doejane_12345_67890_design.json"]
    assert (jane["student"], jane["name"], jane["user_id"], jane["late"], jane["counted"]) == (
        "doejane",
        "doejane",
        "12345",
        "no",
        "yes",
    )
    bob = table["lilibob_late_22222_67891_design.json"]
    assert (bob["user_id"], bob["late"], bob["counted"]) == ("22222", "yes", "no")  # design-1.json is his resubmission


METADATA = """\
submission_7000001:
  :submitters:
  - :name: Jane Doe
    :sid: '1001'
    :email: jane@example.edu
  :created_at: 2024-03-01 10:00:00.000000000 -08:00
  :score: !ruby/object:BigDecimal 18:0.1e2
submission_7000002:
  :submitters:
  - :name: Pair One
    :sid: '2001'
  - :name: Pair Two
    :sid: '2002'
  :created_at: 2024-03-01 11:00:00.000000000 -08:00
"""


def test_gradescope_folders_are_mapped_to_students_through_the_metadata(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    for sub, source in (("submission_7000001", GOOD), ("submission_7000002", WRONG), ("submission_7000003", GOOD)):
        (folder / sub).mkdir(parents=True)
        shutil.copy(source, folder / sub / "design.json")
    (folder / "submission_metadata.yml").write_text(METADATA)
    result = grade(folder, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "note: submission_7000003 is not in submission_metadata.yml" in result.stderr
    table = {row["file"]: row for row in rows(tmp_path / "r.csv")}
    assert (table["submission_7000001/design.json"]["student"], table["submission_7000001/design.json"]["user_id"]) == (
        "Jane Doe",
        "1001",
    )
    assert table["submission_7000002/design.json"]["name"] == "Pair One, Pair Two"
    assert table["submission_7000002/design.json"]["user_id"] == "2001, 2002"
    assert table["submission_7000003/design.json"]["student"] == "submission_7000003"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("submission_1: [unclosed", "not valid YAML (line 1)"),
        ("!!python/object/apply:os.system ['echo pwned']", "not valid YAML"),  # never constructed, never run
        ("- just a list", "expected one entry per submission folder"),
    ],
)
def test_a_bad_metadata_file_is_one_line_and_nothing_runs(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "submission_metadata.yml").write_text(text)
    with pytest.raises(ProjectError) as info:
        gradescope_metadata(tmp_path / "submission_metadata.yml")
    assert problem in str(info.value) and "\n" not in str(info.value)
    (tmp_path / "submission_1").mkdir()
    shutil.copy(GOOD, tmp_path / "submission_1" / "design.json")
    scan = scan_class(tmp_path)
    assert [s.student for s in scan.submissions] == ["submission_1"] and problem in scan.notes[0]


def test_a_hidden_criterion_never_shows_in_what_a_student_reads(tmp_path: Path) -> None:
    ex = json.loads(EXERCISE.read_text())
    ex["criteria"].append({"id": "secret", "type": "max_flops", "value": 1, "points": 4, "hidden": True})
    (tmp_path / "ex13_inception_module.json").write_text(json.dumps(ex))
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copy(GOOD, folder / "alice.json")
    result = run(
        "grade",
        str(tmp_path / "ex13_inception_module.json"),
        str(folder),
        "-o",
        str(tmp_path / "r.csv"),
        "--results-json",
        str(tmp_path / "gs"),
        "--feedback",
        str(tmp_path / "fb"),
    )
    assert result.returncode == 0, result.stderr
    exercise = load_exercise(tmp_path / "ex13_inception_module.json")
    visible = exercise.valid_points + sum(c.points for c in exercise.criteria if not c.hidden)
    total = exercise.max_points
    gs = json.loads((tmp_path / "gs" / "alice" / "results.json").read_text())
    seen = gs["output"] + "".join(t["output"] + t["name"] for t in gs["tests"] if t["visibility"] == "visible")
    feedback = (tmp_path / "fb" / "alice.md").read_text()
    for text in (seen, feedback):
        assert f"of {visible:g} points" in text and f"{total:g}" not in text.replace(f"of {visible:g}", "")
        assert "secret" not in text and "multiply-adds" not in text
