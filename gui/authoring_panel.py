"""The exercise-authoring view: "New Exercise from this Design".

The open design is the reference solution. A form adds criteria of every kind the exercise format has
(each filled from the reference when added), a checklist shows live how the reference fares against them,
a list chooses which layers students get in their starting design (they build the rest), Save writes an
exercise file that ``validate`` accepts (with the reference in ``solutions/`` beside it), and Check Mutants
grades typical mistakes generated from the reference, listing those the criteria let through.

The form edits an exercise, never the design: no undo command is involved, and the design is only read.
"""

from __future__ import annotations

import json
import math
from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.analysis import Analysis
from engine.classroom.authoring import CRITERION_TYPES, ExerciseDraft, preview, save_draft, suggest_criterion
from engine.classroom.exercise import SCHEMA, ExerciseError, load_exercise
from engine.classroom.mutants import MutantResult, check_mutants
from engine.classroom.validation import ValidationReport, mutant_lines, validate_exercise
from engine.layers import CATALOGUE
from gui.document import Document
from gui.exercise_panel import follow_analysis

__all__ = ["ExerciseAuthoringPanel"]

_MARK = {
    "passed": ("✔", QColor("#2CA02C")),
    "failed": ("✖", QColor("#D62728")),
    "not checked": ("○", QColor("#B8860B")),
    "not run": ("…", QColor("#7F7F7F")),
}
_COMMON = ("points", "hint", "hidden")
_NUMBER_KEYS = {
    "value",
    "min",
    "max",
    "min_inputs",
    "max_inputs",
    "tolerance",
    "epochs",
    "max_shortcut_layers",
    "min_val_accuracy",
    "points",
}


def _shape_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join("None" if v is None else str(v) for v in value)
    return "" if value is None else str(value)


def _parse_shape(text: str) -> Any:
    """``28, 28, 1`` (or ``[28, 28, 1]``) as a list; text that is not one stays text, so that the exercise's own
    check says what is wrong with it."""
    parts = [p.strip() for p in text.strip().strip("[]()").split(",") if p.strip()]
    try:
        return [None if p.lower() in ("none", "null") else int(p) for p in parts]
    except ValueError:
        return text


def _parse_number(text: str) -> Any:
    try:
        number = float(text.replace(",", "").replace("_", ""))
    except ValueError:
        return text
    return int(number) if math.isfinite(number) and number.is_integer() and "." not in text else number


class ExerciseAuthoringPanel(QWidget):
    """Writes an `ExerciseDraft` over the open design (the reference solution)."""

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document: Document | None = None
        self.draft = ExerciseDraft()
        self.mutant_results: list[MutantResult] = []
        self._fields: dict[str, QWidget] = {}
        self._filling = False

        self.title = QLineEdit(placeholderText=self.tr("Title of the exercise"))
        self.title.textEdited.connect(self._title_edited)
        self.instructions = QPlainTextEdit()
        self.instructions.setPlaceholderText(self.tr("Instructions for the student (Markdown)"))
        self.instructions.textChanged.connect(self._instructions_edited)
        self.instructions.setMaximumHeight(80)

        self.kind = QComboBox()
        self.kind.addItems(CRITERION_TYPES)
        self.add_button = QPushButton(self.tr("Add Criterion"))
        self.add_button.clicked.connect(lambda: self.add_criterion(self.kind.currentText()))
        self.remove_button = QPushButton(self.tr("Remove"))
        self.remove_button.clicked.connect(self.remove_criterion)
        adder = QHBoxLayout()
        adder.addWidget(self.kind, 1)
        adder.addWidget(self.add_button)
        adder.addWidget(self.remove_button)
        self.checklist = QListWidget()
        self.checklist.setWordWrap(True)
        self.checklist.currentRowChanged.connect(self._select)
        self.form_box = QWidget()
        self.form = QFormLayout(self.form_box)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        criteria = QWidget()
        column = QVBoxLayout(criteria)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(adder)
        column.addWidget(QLabel(self.tr("Each criterion, checked on the reference (this design) as you edit:")))
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.checklist)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form_box)
        split.addWidget(scroll)
        split.setChildrenCollapsible(False)
        scroll.setMinimumHeight(180)
        self.checklist.setMinimumHeight(120)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        column.addWidget(split, 1)
        column.addWidget(self.problem)

        start = QWidget()
        start_column = QVBoxLayout(start)
        self.with_start = QCheckBox(self.tr("Students start from a part of this design"))
        self.with_start.toggled.connect(self._start_toggled)
        self.start_layers = QListWidget()
        self.start_layers.itemChanged.connect(self._start_layer_changed)
        start_column.addWidget(self.with_start)
        start_column.addWidget(QLabel(self.tr("Ticked layers are in the starting design; students build the others.")))
        start_column.addWidget(self.start_layers, 1)

        mutants = QWidget()
        mutants_column = QVBoxLayout(mutants)
        self.mutants_button = QPushButton(self.tr("Check Mutants"))
        self.mutants_button.setToolTip(
            self.tr(
                "Grade typical mistakes generated from this design (a branch dropped, padding "
                "changed, a layer deleted ...) and list those the criteria let through"
            )
        )
        self.mutants_button.clicked.connect(self.check_mutants)
        self.mutants_summary = QLabel(
            self.tr("Typical student mistakes, generated from this design, graded against the criteria.")
        )
        self.mutants_summary.setWordWrap(True)
        self.mutants_list = QListWidget()
        self.mutants_list.setWordWrap(True)
        mutants_column.addWidget(self.mutants_button)
        mutants_column.addWidget(self.mutants_summary)
        mutants_column.addWidget(self.mutants_list, 1)

        self.tabs = QTabWidget()
        self.tabs.addTab(criteria, self.tr("Criteria"))
        self.tabs.addTab(start, self.tr("Starting Design"))
        self.tabs.addTab(mutants, self.tr("Mutants"))
        self.save_button = QPushButton(self.tr("Save Exercise…"))
        self.save_button.clicked.connect(self.save_dialog)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.instructions)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.save_button)
        self.set_document(document)

    # -- the reference ------------------------------------------------------------------------------

    def set_document(self, document: Document) -> None:
        self.document = follow_analysis(self.document, document, self.refresh)
        self._fill_start_layers()
        self.refresh(document.analysis)

    def start_from(self, document: Document) -> None:
        """A new draft over ``document`` (File > New Exercise from this Design)."""
        self.draft = ExerciseDraft(title=document.title or "")
        self.mutant_results = []
        self.mutants_list.clear()
        self._filling = True
        self.title.setText(self.draft.title)
        self.instructions.setPlainText("")
        self.with_start.setChecked(False)
        self._filling = False
        self.set_document(document)

    @property
    def reference(self):  # noqa: ANN201
        assert self.document is not None
        return self.document.graph

    # -- criteria -----------------------------------------------------------------------------------

    def add_criterion(self, kind: str) -> None:
        taken = {c.get("id") for c in self.draft.criteria if isinstance(c.get("id"), str)}
        self.draft.criteria.append(
            suggest_criterion(kind, self.reference, taken, self.document.analysis if self.document else None)
        )
        self.refresh()
        self.checklist.setCurrentRow(len(self.draft.criteria))  # row 0 is "valid"

    def remove_criterion(self) -> None:
        row = self.checklist.currentRow() - 1
        if 0 <= row < len(self.draft.criteria):
            del self.draft.criteria[row]
            self.refresh()

    def set_value(self, index: int, key: str, value: Any) -> None:
        """Set one key of criterion ``index`` (None removes an optional key); the checklist follows."""
        entry = self.draft.criteria[index]
        if value is None or value == "":
            entry.pop(key, None)
        else:
            entry[key] = value
        self.refresh()

    def _select(self, row: int) -> None:
        self._build_form(row - 1)

    def _build_form(self, index: int) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self._fields = {}
        if not 0 <= index < len(self.draft.criteria):
            return
        entry = self.draft.criteria[index]
        kind = entry.get("type", "")
        keys = ["id", *(k.lstrip("!") for k in SCHEMA.get(kind, {})), *_COMMON]
        for key in keys:
            widget = self._field(kind, key, entry.get(key), index)
            widget.setObjectName(f"criterion:{key}")
            self._fields[key] = widget
            required = f"!{key}" in SCHEMA.get(kind, {}) or key == "id"
            self.form.addRow(f"{key}{' *' if required else ''}", widget)

    def _field(self, kind: str, key: str, value: Any, index: int) -> QWidget:  # noqa: C901 - one widget per kind of key
        def commit(parsed: Any) -> None:
            if not self._filling:
                self.set_value(index, key, parsed)

        if key == "hidden":
            box = QCheckBox(self.tr("counts in grade, not shown to the student"))
            box.setChecked(bool(value))
            box.toggled.connect(lambda on: commit(True if on else None))
            return box
        if key == "layer" or key == "answer" or (key == "axis" and kind == "min_receptive_field"):
            combo = QComboBox()
            combo.setEditable(key != "axis")
            names = [n.name for n in self.reference.nodes() if n.type != "Input"]
            if key == "axis":
                combo.addItems(["", "height", "width", "depth"])
            elif key == "answer":
                combo.addItems(names)
                combo.lineEdit().setPlaceholderText(self.tr("a layer (its parameter count) or a number"))
            elif kind == "layer_shape":
                combo.addItems(names)
            else:
                merge = kind in ("merge", "skip_connection")
                combo.addItems([t for t, s in CATALOGUE.items() if not merge or (s.is_merge and s.family == "Merge")])
            shown = value.get("params_of", value.get("value", "")) if isinstance(value, dict) else value
            combo.setCurrentText("" if shown is None else str(shown))
            if key == "answer":
                combo.currentTextChanged.connect(lambda text: commit(self._answer(text)))
            else:
                combo.currentTextChanged.connect(lambda text: commit(text or None))
            return combo
        line = QLineEdit()
        if key == "shape":
            line.setText(_shape_text(value))
            line.setPlaceholderText("28, 28, 1")
            line.editingFinished.connect(lambda: commit(_parse_shape(line.text()) if line.text().strip() else None))
        elif key == "params":
            line.setText("" if value is None else json.dumps(value))
            line.setPlaceholderText('{"kernel_size": [3, 3], "padding": "same"}')
            line.editingFinished.connect(lambda: commit(self._json(line.text())))
        elif key in _NUMBER_KEYS or key == "axis":
            line.setText("" if value is None else f"{value:g}" if isinstance(value, float) else str(value))
            line.editingFinished.connect(lambda: commit(_parse_number(line.text()) if line.text().strip() else None))
        else:
            line.setText("" if value is None else str(value))
            line.editingFinished.connect(lambda: commit(line.text().strip() or None))
        return line

    def _answer(self, text: str) -> Any:
        text = text.strip()
        number = _parse_number(text) if text else None
        if isinstance(number, (int, float)):
            return {"value": number}
        return {"params_of": text} if text else None

    @staticmethod
    def _json(text: str) -> Any:
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except ValueError:
            return text  # the exercise's check says what it must be

    def _title_edited(self, text: str) -> None:
        self.draft.title = text
        self.refresh()

    def _instructions_edited(self) -> None:
        if not self._filling:
            self.draft.instructions = self.instructions.toPlainText()

    # -- starting design ------------------------------------------------------------------------------

    def _fill_start_layers(self) -> None:
        self.start_layers.blockSignals(True)
        self.start_layers.clear()
        for node in self.reference.nodes():
            item = QListWidgetItem(f"{node.name} ({node.type})")
            item.setData(Qt.ItemDataRole.UserRole, node.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked if node.id in self.draft.removed else Qt.CheckState.Checked)
            self.start_layers.addItem(item)
        self.start_layers.setEnabled(self.draft.with_start)
        self.start_layers.blockSignals(False)

    def _start_toggled(self, on: bool) -> None:
        self.draft.with_start = on
        self.start_layers.setEnabled(on)

    def _start_layer_changed(self, item: QListWidgetItem) -> None:
        node = item.data(Qt.ItemDataRole.UserRole)
        if item.checkState() == Qt.CheckState.Checked:
            self.draft.removed.discard(node)
        else:
            self.draft.removed.add(node)

    def set_start(self, removed: set[str]) -> None:
        """Students start from the reference without ``removed`` (layer ids)."""
        self.with_start.setChecked(True)
        self.draft.removed = set(removed)
        self._fill_start_layers()

    # -- the live checklist ----------------------------------------------------------------------------

    def refresh(self, analysis: Analysis | None = None) -> None:
        if self.document is None:
            return
        row = self.checklist.currentRow()
        if self.start_layers.count() != len(self.reference):
            self._fill_start_layers()
        result = preview(self.draft, self.reference, analysis if analysis is not None else self.document.analysis)
        self.checklist.blockSignals(True)
        self.checklist.clear()
        if isinstance(result, str):
            self.problem.setText(
                "<span style='color:#D62728'>{}</span>".format(
                    escape(self.tr("Not a valid exercise yet: {problem}").format(problem=result), quote=False)
                )
            )
            item = QListWidgetItem(self.tr("The design has no errors"))
            self.checklist.addItem(item)
            for entry in self.draft.criteria:
                self.checklist.addItem(QListWidgetItem(f"?  {entry.get('id', '')}: {entry.get('type', '')}"))
        else:
            failing = [r for r in result if r.status in ("failed", "not checked")]
            if failing:
                self.problem.setText(
                    "<span style='color:#D62728'>{}</span>".format(
                        self.tr("The reference does not pass every criterion: fix the criterion or the design.")
                    )
                )
            else:
                self.problem.setText(
                    self.tr("The reference passes every criterion.")
                    if self.draft.criteria
                    else self.tr("Add criteria above.")
                )
            for r in result:
                mark, colour = _MARK[r.status]
                text = f"{mark}  {r.id}: {r.label}" if r.passed else f"{mark}  {r.id}: {r.label}\n     {r.message}"
                item = QListWidgetItem(text)
                item.setToolTip(r.message)
                item.setForeground(QBrush(colour))
                self.checklist.addItem(item)
        if 0 <= row < self.checklist.count():
            self.checklist.setCurrentRow(row)  # signals blocked: the form being typed in stays as it is
        self.checklist.blockSignals(False)
        if row >= self.checklist.count() or not self.draft.criteria:
            self._build_form(-1)

    # -- mutants and saving -------------------------------------------------------------------------------

    def check_mutants(self) -> list[MutantResult]:
        """Grade typical mistakes generated from the reference; survivors first in the list."""
        try:
            exercise = self.draft.exercise(self.reference)
        except ExerciseError as exc:
            self.mutants_summary.setText(
                "<span style='color:#D62728'>{}</span>".format(
                    escape(self.tr("Not a valid exercise yet: {problem}").format(problem=exc.detail), quote=False)
                )
            )
            return []
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.mutant_results = check_mutants(exercise, self.reference)
        finally:
            QGuiApplication.restoreOverrideCursor()
        lines = mutant_lines(self.mutant_results)
        self.mutants_summary.setText(escape(lines[0].removeprefix("mutants: ").capitalize()))
        self.mutants_list.clear()
        for line in lines[1:]:
            item = QListWidgetItem(line[5:])
            colour = "#D62728" if line.startswith("PASS") else "#B8860B" if line.startswith("note") else "#555555"
            item.setForeground(QBrush(QColor(colour)))
            self.mutants_list.addItem(item)
        return self.mutant_results

    def save_to(self, path: str | Path) -> ValidationReport:
        """Write the exercise and its reference solution, then validate what was written."""
        exercise_path, _solution = save_draft(self.draft, self.reference, path)
        return validate_exercise(load_exercise(exercise_path))

    def save_dialog(self) -> None:
        start = str(Path(self.document.path).parent) if self.document is not None and self.document.path else ""
        path, _filter = QFileDialog.getSaveFileName(
            self, self.tr("Save Exercise"), start, self.tr("LayerLab exercises (*.json)")
        )
        if not path:
            return
        try:
            report = self.save_to(path)
        except (ExerciseError, OSError) as exc:
            QMessageBox.warning(self, self.tr("Cannot save the exercise"), str(exc))
            return
        verdict = self.tr("The exercise is valid.") if report.ok else self.tr("The exercise is NOT valid:")
        saved = self.tr("Saved {file} and its reference solution.").format(file=path)
        QMessageBox.information(self, self.tr("Exercise saved"), "\n".join([saved, verdict, *report.lines]))
