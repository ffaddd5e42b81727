"""The exercise panel: instructions, a live checklist that follows every edit, and answer fields for
the numeric questions (answers are saved with the design; each change is an undoable command)."""

from __future__ import annotations

import json
import weakref
from html import escape
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QUndoCommand
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from engine.analysis import Analysis
from engine.exercises import CriterionResult, Exercise, check_design, design_numbers, score
from engine.project import graph_to_dict
from gui.document import Document, EditRefused

__all__ = ["ExercisePanel", "SetAnswerCommand", "follow_analysis"]

_MARK = {
    "passed": ("✔", QColor("#2CA02C")),
    "failed": ("✖", QColor("#D62728")),
    "not checked": ("○", QColor("#B8860B")),
    "not run": ("…", QColor("#7F7F7F")),
}


#: What a project file accepts as one answer (longer answers would make the file unreadable).
MAX_ANSWER_LENGTH = 100


def follow_analysis(old: Document | None, new: Document, slot: Any) -> Document:
    """Move ``slot`` from ``old``'s analysis signal to ``new``'s (a panel following the open design); returns new."""
    if old is not None:
        try:
            old.analysed.disconnect(slot)
        except (RuntimeError, TypeError):
            pass
    new.analysed.connect(slot)
    return new


class SetAnswerCommand(QUndoCommand):
    def __init__(self, document: Document, question: str, value: str) -> None:
        if not isinstance(value, str) or len(value) > MAX_ANSWER_LENGTH:
            raise EditRefused(f"an answer has at most {MAX_ANSWER_LENGTH} characters")
        super().__init__(f"Answer {question}")
        # The document owns its undo stack: a weak reference keeps the two out of a reference cycle.
        self.document = document if isinstance(document, weakref.ProxyType) else weakref.proxy(document)
        self.question = question
        self.old = document.answers.get(question)
        self.new = value

    def _apply(self, value: Any) -> None:
        if value in (None, ""):
            self.document.answers.pop(self.question, None)
        else:
            self.document.answers[self.question] = value
        self.document.refresh()  # the checklist follows

    def redo(self) -> None:
        self._apply(self.new)

    def undo(self) -> None:
        self._apply(self.old)


class ExercisePanel(QWidget):
    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document: Document | None = None
        self.exercise: Exercise | None = None
        self.results: list[CriterionResult] = []
        #: The last finished training run of this design, and the design as it was then.
        self._trained: tuple[str, dict[str, Any]] | None = None
        self.title = QLabel("No exercise open. File > Open Exercise… to start one.")
        self.title.setWordWrap(True)
        self.instructions = QTextBrowser()
        self.instructions.setOpenExternalLinks(False)
        self.checklist = QListWidget()
        self.checklist.setWordWrap(True)
        self.score = QLabel()
        self.score.setWordWrap(True)
        self.answers_box = QWidget()
        self.answers_form = QFormLayout(self.answers_box)
        self.answer_fields: dict[str, QLineEdit] = {}
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(QLabel("<b>Checklist</b> (updates as you edit)"))
        lower_layout.addWidget(self.checklist, 1)
        lower_layout.addWidget(self.score)
        lower_layout.addWidget(self.answers_box)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.instructions)
        splitter.addWidget(lower)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 3)  # the checklist is what a student reads while editing
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(splitter, 1)
        self.set_document(document)

    def set_document(self, document: Document) -> None:
        self.document = follow_analysis(self.document, document, self.refresh)
        self._fill_answers()
        self.refresh(document.analysis)

    def set_exercise(self, exercise: Exercise | None) -> None:
        self.exercise = exercise
        while self.answers_form.rowCount():
            self.answers_form.removeRow(0)
        self.answer_fields = {}
        if exercise is None:
            self.title.setText("No exercise open. File > Open Exercise… to start one.")
            self.instructions.clear()
            self.checklist.clear()
            return
        self.title.setText(f"<b>{exercise.title}</b>")
        self.instructions.setMarkdown(exercise.instructions)
        for question in exercise.questions:
            field = QLineEdit(placeholderText="your answer (a number)")
            field.setObjectName(f"answer:{question.id}")
            field.editingFinished.connect(lambda q=question.id, f=field: self._answer(q, f.text()))
            label = QLabel(question.spec["prompt"])
            label.setWordWrap(True)
            self.answers_form.addRow(label)
            self.answers_form.addRow(field)
            self.answer_fields[question.id] = field
        self._fill_answers()
        if self.document is not None:
            self.refresh(self.document.analysis)

    def _fill_answers(self) -> None:
        if self.document is None:
            return
        for qid, field in self.answer_fields.items():
            field.blockSignals(True)
            field.setText(str(self.document.answers.get(qid, "")))
            field.blockSignals(False)

    def _answer(self, question: str, text: str) -> None:
        assert self.document is not None
        text = text.strip()
        if str(self.document.answers.get(question, "")) == text:
            return
        try:
            self.document.editor.set_answer(question, text)
        except EditRefused as exc:
            field = self.answer_fields[question]
            field.blockSignals(True)
            field.setText(str(self.document.answers.get(question, "")))  # the last valid answer stays
            field.blockSignals(False)
            self.score.setText(f"<span style='color:#D62728'>Answer not kept: {escape(str(exc))}</span>")

    def _design_key(self) -> str:
        assert self.document is not None
        doc = graph_to_dict(self.document.graph)
        for node in doc["nodes"]:
            node.pop("position")
        return json.dumps(doc, sort_keys=True)

    def training_finished(self, run: Any) -> None:
        """Remember a finished training run; it counts for training criteria until the design changes."""
        if run.error is None and run.result and self.document is not None:
            self._trained = (self._design_key(), {**run.result, "dataset": run.dataset})
            self.refresh(self.document.analysis)

    def refresh(self, analysis: Analysis) -> None:
        if self.exercise is None or self.document is None:
            return
        self._fill_answers()
        trained = None
        if self._trained is not None and any(c.type == "training" for c in self.exercise.criteria):
            key, result = self._trained
            trained = result if key == self._design_key() else None
        numbers = design_numbers(self.document.graph, analysis, self.document.teaching() if analysis is self.document.analysis else None)
        self.results = check_design(self.exercise, self.document.graph, self.document.answers, analysis, trained=trained, numbers=numbers)
        self.checklist.clear()
        shown = [r for r in self.results if not r.hidden]  # hidden criteria count for the teacher only
        for r in shown:
            mark, colour = _MARK[r.status]
            points = f"  ({r.points:g}/{r.max_points:g})" if r.max_points != 1 else ""
            # A passed criterion is one line (its sentence in the tooltip): what is left to do gets the room.
            text = f"{mark}  {r.label}{points}" if r.passed else f"{mark}  {r.label}{points}\n     {r.message}"
            if r.hint:
                text += f"\n     Hint: {r.hint}"
            item = QListWidgetItem(text)
            item.setToolTip(f"{r.status}: {r.message}")
            item.setForeground(QBrush(colour))
            self.checklist.addItem(item)
        passed = sum(r.passed for r in shown)
        earned, possible = score(shown)
        done = " All done!" if passed == len(shown) else ""
        hidden = len(self.results) - len(shown)
        more = f" Your teacher also grades {hidden} hidden {'criterion' if hidden == 1 else 'criteria'}." if hidden else ""
        self.score.setText(f"<b>{passed} of {len(shown)}</b> passed, {earned:g} of {possible:g} points.{done}{more}")
