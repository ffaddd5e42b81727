"""The submissions in a class folder, however the LMS laid them out.

- **Moodle**: a folder per student, ``Full Name_123456_assignsubmission_file_`` (the id is the part before
  the suffix; the name and the number are also split into columns);
- **Canvas** (the flat "Download Submissions" zip): ``lastnamefirstname[_late]_USERID_SUBMISSIONID_file.json``;
- **Gradescope** (Export Submissions): ``submission_7000000/`` folders, mapped to their students through
  ``submission_metadata.yml`` beside them. The metadata is read with PyYAML's *safe* loader (plain data only:
  Ruby's object tags are read as the plain mapping or text under them, nothing is constructed or run);
- anything else: the first folder under the class folder is the student, or a flat file's name.

Folders reached through symbolic links are followed (each real folder once). Hidden files, ``__MACOSX``, the
folders LayerLab writes its own output to (they hold an `OUTPUT_MARKER` file) and any folder passed in
``exclude`` are skipped, so results written inside the class folder are never graded as a student.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from engine.i18n import _
from pathlib import Path
from typing import Any

from engine.project import ProjectError

__all__ = [
    "MAX_SUBMISSIONS",
    "OUTPUT_MARKER",
    "ClassFolder",
    "Submission",
    "counted_submissions",
    "find_submissions",
    "gradescope_metadata",
    "scan_class",
]

#: Moodle names each student's folder ``Full Name_123456_assignsubmission_file_``: the id is the part before.
_MOODLE = re.compile(r"_assign(?:submission|feedback)_[a-z]+_?$")
_MOODLE_ID = re.compile(r"^(?P<name>.*)_(?P<user>\d+)$")
#: Canvas's flat download: ``doejane_12345_67890_design.json``, ``doejane_late_12345_67890_design-1.json``.
_CANVAS = re.compile(
    r"^(?P<name>[^_]+)_(?:(?P<late>late)_)?(?P<user>\d+)_(?P<submission>\d+)_(?P<file>.+)$", re.IGNORECASE
)
#: A browser's or an LMS's copy number: ``design (1).json``, ``design-1.json`` (Canvas's resubmission).
_COPY = re.compile(r"(?: \((\d+)\)|-(\d+))$")
_GRADESCOPE_FOLDER = re.compile(r"^submission_\d+$")
GRADESCOPE_METADATA = "submission_metadata.yml"
#: The file LayerLab puts in every folder it writes results to; a folder holding it is never read as submissions.
OUTPUT_MARKER = ".layerlab-output"
#: More files than a class can hand in: a wrong folder (a home directory), said rather than walked.
MAX_SUBMISSIONS = 20_000
_MAX_METADATA_BYTES = 20_000_000


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path
    #: The path inside the graded folder, as the report shows it.
    relative: str
    #: The student's name and user id where the LMS gives them apart; ``late`` is None where it does not say.
    name: str = ""
    user_id: str = ""
    late: bool | None = None
    #: When it was handed in (the LMS's time, else the file's modification time), in seconds since the epoch.
    submitted: float = 0.0
    lms: str = ""

    @property
    def key(self) -> str:
        """Who handed it in: the user id where the LMS gives one, else the student column."""
        return f"{self.lms}:{self.user_id}" if self.user_id else self.student


@dataclass
class ClassFolder:
    submissions: list[Submission]
    #: Sentences for the teacher about the folder (an unreadable metadata file, skipped output folders).
    notes: list[str] = field(default_factory=list)


def _walk(folder: Path, exclude: set[str]) -> Iterable[Path]:
    """Every ``*.json`` file under ``folder``, sorted, following symbolic links to folders (each real folder once)."""
    seen: set[str] = set()
    for root, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen or real in exclude or OUTPUT_MARKER in files:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__MACOSX")
        for name in sorted(files):
            if name.lower().endswith(".json") and not name.startswith("."):
                yield Path(root) / name


class _MetadataLoader:
    """PyYAML's safe loader, where a Ruby object tag (``!ruby/object:...``) reads as the plain data under it."""

    @staticmethod
    def load(text: str) -> Any:
        import yaml

        class Loader(yaml.SafeLoader):
            pass

        def plain(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
            if isinstance(node, yaml.MappingNode):
                return loader.construct_mapping(node, deep=True)
            if isinstance(node, yaml.SequenceNode):
                return loader.construct_sequence(node, deep=True)
            return loader.construct_scalar(node)  # type: ignore[arg-type]

        Loader.add_multi_constructor("!", plain)
        return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass: plain data only


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _timestamp(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip().replace(" UTC", "+00:00")).timestamp()
        except ValueError:
            return 0.0
    return 0.0


def gradescope_metadata(path: Path) -> dict[str, dict[str, Any]]:
    """``{"submission_7000000": {"name", "user_id", "submitted"}}`` from Gradescope's ``submission_metadata.yml``.

    Raises `ProjectError` (one line) when the file cannot be read or is not laid out as Gradescope writes it."""
    try:
        if path.stat().st_size > _MAX_METADATA_BYTES:
            raise ProjectError(str(path), _("the file is larger than 20 MB, more than Gradescope writes for one class"))
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(
            str(path), _("cannot be read ({problem})").format(problem=getattr(exc, "strerror", None) or exc)
        ) from None
    import yaml

    try:
        doc = _MetadataLoader.load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = _(" (line {line})").format(line=mark.line + 1) if mark is not None else ""
        raise ProjectError(str(path), _("not valid YAML{where}").format(where=where)) from None
    if not isinstance(doc, dict):
        raise ProjectError(str(path), _("expected one entry per submission folder (submission_1234: ...)"))
    out: dict[str, dict[str, Any]] = {}
    for folder, entry in doc.items():
        if not isinstance(entry, dict):
            continue
        submitters = entry.get(":submitters") or entry.get("submitters") or []
        people = [s for s in submitters if isinstance(s, dict)] if isinstance(submitters, list) else []
        names = [_text(p.get(":name", p.get("name"))) for p in people]
        ids = [_text(p.get(":sid", p.get("sid"))) or _text(p.get(":email", p.get("email"))) for p in people]
        out[str(folder)] = {
            "name": ", ".join(n for n in names if n),
            "user_id": ", ".join(i for i in ids if i),
            "submitted": _timestamp(entry.get(":created_at", entry.get("created_at"))),
        }
    return out


def scan_class(folder: Path, exclude: Sequence[Path] = ()) -> ClassFolder:
    """Every design under ``folder``, each with its student as the LMS export says (see the module's docstring)."""
    folder = Path(folder)
    skip = {os.path.realpath(p) for p in exclude}
    notes: list[str] = []
    metadata: dict[str, dict[str, Any]] = {}
    meta_path = folder / GRADESCOPE_METADATA
    if meta_path.is_file():
        try:
            metadata = gradescope_metadata(meta_path)
        except ProjectError as exc:
            notes.append(
                _("{file}: {problem}; the submission folders keep their own names.").format(
                    file=exc.source, problem=exc.detail
                )
            )
    found: list[Submission] = []
    for path in _walk(folder, skip):
        rel = path.relative_to(folder)
        try:
            mtime = path.stat().st_mtime
        except OSError:
            mtime = 0.0
        found.append(_submission(path, rel, mtime, metadata, notes))
        if len(found) > MAX_SUBMISSIONS:
            raise ProjectError(
                str(folder),
                _("more than {count:,} .json files: is this the folder of one class?").format(count=MAX_SUBMISSIONS),
            )
    return ClassFolder(found, notes)


def _submission(
    path: Path, rel: Path, mtime: float, metadata: dict[str, dict[str, Any]], notes: list[str]
) -> Submission:
    top = rel.parts[0]
    if len(rel.parts) > 1 and _GRADESCOPE_FOLDER.match(top) and metadata:
        entry = metadata.get(top)
        if entry is None:
            notes.append(
                _("{folder} is not in {metadata}: its student is not known.").format(
                    folder=top, metadata=GRADESCOPE_METADATA
                )
            )
            return Submission(top, path, rel.as_posix(), submitted=mtime, lms="gradescope")
        student = entry["name"] or entry["user_id"] or top
        return Submission(
            student,
            path,
            rel.as_posix(),
            entry["name"],
            entry["user_id"],
            None,
            entry["submitted"] or mtime,
            "gradescope",
        )
    if len(rel.parts) > 1:
        student = _MOODLE.sub("", top) or top
        moodle = _MOODLE.search(top) is not None
        named = _MOODLE_ID.match(student) if moodle else None
        return Submission(
            student,
            path,
            rel.as_posix(),
            named["name"] if named else "",
            named["user"] if named else "",
            None,
            mtime,
            "moodle" if moodle else "",
        )
    canvas = _CANVAS.match(path.name)
    if canvas:
        return Submission(
            canvas["name"],
            path,
            rel.as_posix(),
            canvas["name"],
            canvas["user"],
            canvas["late"] is not None,
            mtime,
            "canvas",
        )
    return Submission(path.stem, path, rel.as_posix(), submitted=mtime)


def find_submissions(folder: Path, exclude: Sequence[Path] = ()) -> list[Submission]:
    """Every ``*.json`` design under ``folder`` (`scan_class` without the notes)."""
    return scan_class(folder, exclude).submissions


def _copy_number(path: str) -> int:
    match = _COPY.search(Path(path).stem)
    return int(match.group(1) or match.group(2)) if match else 0


def counted_submissions(submissions: Sequence[Submission]) -> list[tuple[bool, list[str]]]:
    """For each submission: whether it is the one that counts for its student, and the student's other files.

    The newest counts: the latest LMS time (Gradescope's ``created_at``) or file modification time; on a tie,
    the higher copy number (``design (1).json`` after ``design.json``), then the later name."""
    by_student: dict[str, list[int]] = {}
    for index, s in enumerate(submissions):
        by_student.setdefault(s.key, []).append(index)
    out: list[tuple[bool, list[str]]] = [(True, [])] * len(submissions)
    for members in by_student.values():
        if len(members) == 1:
            continue
        newest = max(
            members,
            key=lambda i: (submissions[i].submitted, _copy_number(submissions[i].relative), submissions[i].relative),
        )
        for i in members:
            out[i] = (i == newest, [submissions[j].relative for j in members if j != i])
    return out
