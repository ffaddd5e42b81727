"""The inspector: a form generated from the selected layer's `LayerSpec`.

Each edit becomes a `SetParamCommand` (or `RenameCommand`). A value the spec refuses is not applied:
the message is shown under the form and the editor goes back to the last valid value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.analysis import Analysis
from engine.graph import GraphEvent
from engine.layers import INT_MAX, ParamError, ParamSpec, fmt_int, get_spec
from engine.teaching import human_bytes
from gui.canvas.items import shape_text
from gui.document import Document, EditRefused

__all__ = ["InspectorWidget", "parse_text", "value_text"]

_INT_RE = re.compile(r"-?\d+")


def value_text(value: Any) -> str:
    """How a parameter value is shown in a text field."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):
        return ", ".join(f"({a}, {b})" for a, b in value)
    if isinstance(value, tuple):
        return ", ".join("None" if v is None else str(v) for v in value)
    return str(value)


def _int(spec: ParamSpec, digits: str) -> int:
    """A whole number typed by the user; absurdly long ones (Python refuses over 4,300 digits) are refused."""
    if len(digits.lstrip("-")) > 12:
        raise ParamError(f"{spec.name}: {digits[:12]}... is far too large (at most 2,147,483,647)")
    return int(digits)


def parse_text(spec: ParamSpec, text: str) -> Any:
    """Turn what a user typed into a value for ``spec`` (checked afterwards by the spec). Never evaluates code."""
    text = text.strip()
    if not text:
        if spec.optional or spec.default is None:
            return None
        raise ParamError(f"{spec.name} needs a value")
    if spec.kind == "float":
        try:
            if len(text) > 400:
                raise ValueError(text)
            return float(text)
        except ValueError:
            raise ParamError(f"{spec.name} must be a number, got {text!r}") from None
    if spec.kind == "int":
        if not _INT_RE.fullmatch(text):
            raise ParamError(f"{spec.name} must be a whole number, got {text!r}")
        return _int(spec, text)
    if spec.kind in ("ints", "shape"):
        tokens = [t.strip() for t in text.strip("()[] ").split(",") if t.strip()]
        values: list[Any] = []
        for token in tokens:
            if token.lower() in ("none", "null", "?") and spec.kind == "shape":
                values.append(None)
            elif _INT_RE.fullmatch(token):
                values.append(_int(spec, token))
            else:
                raise ParamError(f"{spec.name}: {token!r} is not a whole number")
        if spec.kind == "ints" and len(values) == 1:
            return values[0]
        return values
    if spec.kind in ("padding2d", "pads"):
        n = spec.length or 2
        numbers = [_int(spec, t) for t in _INT_RE.findall(text)]
        if re.sub(r"[-\d\s,()\[\]]", "", text) or len(numbers) not in {1, n, 2 * n}:
            raise ParamError(f"{spec.name} must be one size, one size per axis ({n}), or a (before, after) pair per axis")
        if len(numbers) == 1:
            return numbers[0]
        if len(numbers) == 2 * n:
            return [numbers[2 * i: 2 * i + 2] for i in range(n)] if n > 1 else numbers
        return numbers
    if spec.kind in ("floats", "factor"):
        try:
            values = [float(t) for t in text.strip("()[] ").split(",") if t.strip()]
        except ValueError:
            raise ParamError(f"{spec.name} must be a number or numbers separated by commas, got {text!r}") from None
        return values[0] if len(values) == 1 else values
    if spec.kind == "axes":
        tokens = [t.strip() for t in text.strip("()[] ").split(",") if t.strip()]
        if not all(_INT_RE.fullmatch(t) for t in tokens):
            raise ParamError(f"{spec.name} must be an axis or axes separated by commas, got {text!r}")
        return _int(spec, tokens[0]) if len(tokens) == 1 else [_int(spec, t) for t in tokens]
    return text


class InspectorWidget(QWidget):
    #: A message for the status bar.
    message = Signal(str)

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document: Document | None = None
        self.node_id: str | None = None
        #: True while a spin box commits: its consecutive steps merge into one undo step.
        self._merge = False
        self._editors: dict[str, Callable[[Any], None]] = {}
        self._inner_types: dict[str, str] = {}
        self._node_params: dict[str, Any] = {}
        self._unsubscribe: Callable[[], None] | None = None

        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.doc = QLabel()
        self.doc.setWordWrap(True)
        self.doc.setStyleSheet("color: #555;")
        self.form_box = QWidget()
        self.form = QFormLayout(self.form_box)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #D62728;")
        self.error.hide()
        self.result_box = QGroupBox("Shape and parameters")
        result_layout = QVBoxLayout(self.result_box)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.TextFormat.RichText)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        result_layout.addWidget(self.result)

        inner = QWidget()
        layout = QVBoxLayout(inner)
        for widget in (self.title, self.doc, self.form_box, self.error, self.result_box):
            layout.addWidget(widget)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.set_document(document)

    # -- binding -----------------------------------------------------------------------------------

    def set_document(self, document: Document) -> None:
        if self._unsubscribe:
            self._unsubscribe()
        if self.document is not None:
            self.document.analysed.disconnect(self._on_analysed)
        self.document = document
        self._unsubscribe = document.graph.subscribe(self._on_event)
        document.analysed.connect(self._on_analysed)
        self.show_nodes([])

    def show_nodes(self, node_ids: list[str]) -> None:
        self.node_id = node_ids[0] if len(node_ids) == 1 else None
        self._clear_form()
        self.error.hide()
        if self.node_id is None:
            self.title.setText(f"<b>{len(node_ids)} layers selected</b>" if node_ids else "<b>No layer selected</b>")
            self.doc.setText("Select a layer on the canvas to edit it." if not node_ids else "")
            self.result_box.hide()
            return
        self._build_form()
        self._populate()
        self._show_result()

    def _clear_form(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self._editors = {}

    # -- the generated form ----------------------------------------------------------------------

    def _build_form(self) -> None:
        assert self.document is not None and self.node_id is not None
        node = self.document.graph.node(self.node_id)
        spec = node.spec
        self._node_params = dict(node.params)
        self._inner_types: dict[str, str] = {}
        self.title.setText(f"<b>{spec.type}</b> <span style='color:#777'>({spec.family})</span>")
        self.doc.setText(spec.doc)
        name = QLineEdit()
        name.setObjectName("param:name")
        name.editingFinished.connect(lambda: self._rename(name))
        self.form.addRow("name", name)
        self._editors["name"] = lambda value: name.setText(value)
        if spec.type != "Input" and spec.call != "op":
            self._add_trainable()
        for param in spec.params:
            self._add_editor(param, lambda value, p=param: self._set(p.name, value))

    def _add_trainable(self) -> None:
        """The ``trainable`` check box: unticked freezes the layer (its weights stop training, all non-trainable)."""
        assert self.document is not None and self.node_id is not None
        box = QCheckBox()
        box.setObjectName("param:trainable")
        box.setToolTip("Untick to freeze this layer (Keras's trainable=False): its weights keep their values during training "
                       "and count as non-trainable. BatchNormalization then runs in inference mode.")

        def show(_value: Any = None) -> None:
            graph = self.document.graph if self.document else None
            if graph is None or self.node_id is None or self.node_id not in graph:
                return
            model = graph.frozen_by(self.node_id)
            box.setChecked(graph.node(self.node_id).trainable and model is None)
            box.setEnabled(model is None)
            box.setText(f"frozen with the nested model {graph.groups[model].name}" if model is not None else "")

        def commit(checked: bool) -> None:
            assert self.document is not None and self.node_id is not None
            try:
                self.document.editor.set_trainable([self.node_id], checked)
                self.error.hide()
            except EditRefused as exc:
                self._refuse(str(exc))

        box.toggled.connect(commit)
        self.form.addRow("trainable", box)
        self._editors["trainable"] = show

    def _add_editor(self, param: ParamSpec, commit: Callable[[Any], None], prefix: str = "") -> None:
        key = prefix + param.name
        label = param.name + (" *" if param.advanced else "")
        widget: QWidget
        if param.kind == "bool":
            box = QCheckBox()
            box.toggled.connect(lambda checked: commit(bool(checked)))
            self._editors[key] = lambda value, b=box: b.setChecked(bool(value))
            widget = box
        elif param.kind == "choice":
            combo = QComboBox()
            choices = list(param.choices)
            if param.optional or param.default is None:
                combo.addItem("(none)", None)
            for choice in choices:
                combo.addItem(choice, choice)
            combo.currentIndexChanged.connect(lambda _i, c=combo: commit(c.currentData()))
            self._editors[key] = lambda value, c=combo: c.setCurrentIndex(max(0, c.findData(value)))
            widget = combo
        elif param.kind == "int" and not param.optional:
            spin = QSpinBox()
            spin.setRange(int(param.minimum) if param.minimum is not None else -INT_MAX, int(param.maximum) if param.maximum is not None else INT_MAX)
            spin.setKeyboardTracking(False)
            spin.valueChanged.connect(lambda v: self._stepping(commit, int(v)))
            self._editors[key] = lambda value, s=spin: s.setValue(int(value))
            widget = spin
        elif param.kind == "ints" and not param.optional:
            row = QWidget()
            hbox = QHBoxLayout(row)
            hbox.setContentsMargins(0, 0, 0, 0)
            spins = []
            for _ in range(param.length or 1):
                spin = QSpinBox()
                spin.setRange(int(param.minimum or 0), INT_MAX)
                spin.setKeyboardTracking(False)
                spins.append(spin)
                hbox.addWidget(spin)
                if len(spins) < (param.length or 1):
                    hbox.addWidget(QLabel("×"))
            for spin in spins:
                spin.valueChanged.connect(lambda _v, ss=spins: self._stepping(commit, tuple(s.value() for s in ss)))

            def set_ints(value: Any, ss: list[QSpinBox] = spins) -> None:
                for s, v in zip(ss, value):
                    s.setValue(int(v))

            self._editors[key] = set_ints
            widget = row
        elif param.kind == "layer":
            box = QGroupBox()
            inner_form = QFormLayout(box)
            combo = QComboBox()
            combo.addItems(list(param.layer_choices()))
            inner_form.addRow("type", combo)
            holder: dict[str, Any] = {}

            def set_layer(value: Any, c: QComboBox = combo) -> None:
                holder["value"] = value
                c.setCurrentText(value["type"])
                for inner in get_spec(value["type"]).params:
                    setter = self._editors.get(f"{key}.{inner.name}")
                    if setter:
                        setter(value["params"][inner.name])

            def commit_inner(name: str, v: Any) -> None:
                current = holder["value"]
                commit({"type": current["type"], "params": {**current["params"], name: v}})

            def switch_type(new_type: str) -> None:  # keep the values the new type also has (units from LSTM to GRU)
                kept = {k: v for k, v in holder["value"]["params"].items() if get_spec(new_type).has_param(k)}
                commit({"type": new_type, "params": kept})

            combo.currentTextChanged.connect(switch_type)
            # The nested form follows the wrapped layer's own spec (GRU shows reset_after, LSTM does not).
            inner_type = self._node_params[param.name]["type"]
            self._inner_types[key] = inner_type
            for inner in get_spec(inner_type).params:
                if inner.advanced or inner.name in ("activation", "recurrent_activation"):
                    continue
                self._add_editor_into(inner_form, inner, lambda v, n=inner.name: commit_inner(n, v), prefix=f"{key}.")
            self._editors[key] = set_layer
            widget = box
        else:
            line = QLineEdit()
            line.setPlaceholderText("default" if param.optional or param.default is None else "")
            line.editingFinished.connect(lambda ln=line, p=param: self._commit_text(p, ln, commit))
            self._editors[key] = lambda value, ln=line: ln.setText(value_text(value))
            widget = line
        widget.setObjectName(f"param:{key}")
        widget.setToolTip(param.doc + ("" if param.required else f"\nKeras default: {value_text(param.default) or 'None'}"))
        self.form.addRow(label, widget) if not prefix else None
        self._last_widget = widget

    def _add_editor_into(self, form: QFormLayout, param: ParamSpec, commit: Callable[[Any], None], prefix: str) -> None:
        self._add_editor(param, commit, prefix)
        form.addRow(param.name, self._last_widget)

    def _commit_text(self, param: ParamSpec, line: QLineEdit, commit: Callable[[Any], None]) -> None:
        try:
            value = parse_text(param, line.text())
        except ParamError as exc:
            self._refuse(str(exc))
            return
        commit(value)

    def _populate(self) -> None:
        assert self.document is not None and self.node_id is not None
        node = self.document.graph.node(self.node_id)
        for widget in self.form_box.findChildren(QWidget):
            widget.blockSignals(True)
        try:
            self._editors["name"](node.name)
            if "trainable" in self._editors:
                self._editors["trainable"](node.trainable)
            for name, value in node.params.items():
                self._editors[name](value)
        finally:
            for widget in self.form_box.findChildren(QWidget):
                widget.blockSignals(False)

    # -- edits -------------------------------------------------------------------------------------

    def _stepping(self, commit: Callable[[Any], None], value: Any) -> None:
        """A spin box's steps and keystrokes: consecutive ones in one field are one undo step."""
        self._merge = True
        try:
            commit(value)
        finally:
            self._merge = False

    def _set(self, name: str, value: Any) -> None:
        assert self.document is not None and self.node_id is not None
        if self.document.graph.node(self.node_id).params.get(name) == value:
            return
        try:
            self.document.editor.set_param(self.node_id, name, value, merge=self._merge)
            self.error.hide()
        except (ParamError, EditRefused) as exc:
            self._refuse(str(exc))

    def _rename(self, line: QLineEdit) -> None:
        assert self.document is not None
        if self.node_id is None or line.text() == self.document.graph.node(self.node_id).name:
            return
        try:
            self.document.editor.rename(self.node_id, line.text())
            self.error.hide()
        except (EditRefused, ParamError) as exc:
            self._refuse(str(exc))

    def _refuse(self, message: str) -> None:
        self.error.setText(f"Not applied: {message}. The last valid value is kept.")
        self.error.show()
        self.message.emit(f"Not applied: {message}")
        self._populate()

    # -- model events ------------------------------------------------------------------------------

    def _on_event(self, event: GraphEvent) -> None:
        if self.node_id is None:
            return
        if event.kind == "node_removed" and event.node == self.node_id:
            self.show_nodes([])
        elif event.kind == "groups_changed" and self.document is not None and self.node_id in self.document.graph:
            self._populate()  # a nested model around the layer may have been frozen or unfrozen
        elif event.kind in ("params_changed", "renamed") and event.node == self.node_id:
            params = self.document.graph.node(self.node_id).params if self.document else {}
            if any(params.get(k, {}).get("type") != t for k, t in self._inner_types.items()):
                self.show_nodes([self.node_id])  # another wrapped layer type: its form differs
            else:
                self._populate()

    def _on_analysed(self, analysis: Analysis) -> None:
        if self.node_id is not None:
            self._show_result()

    def _show_result(self) -> None:
        assert self.document is not None
        if self.node_id is None or self.node_id not in self.document.graph:
            return
        analysis = self.document.analysis
        result = analysis.results.get(self.node_id)
        lines = []
        if result is not None:
            ins = ", ".join(shape_text(t.shape if t else None) for t in result.inputs)
            if ins:
                lines.append(f"Input: {ins}")
            lines.append(f"Output: <b>{shape_text(result.shape)}</b>")
            node = self.document.graph.node(self.node_id)
            labels = node.spec.output_labels(node.params)
            for label, tensor in zip(labels[1:], result.extra_outputs):
                lines.append(f"Output {escape(label)}: <b>{shape_text(tensor.shape)}</b>")
            if result.params is not None:
                p = result.params
                lines.append(f"Parameters: <b>{fmt_int(p.total)}</b> ({fmt_int(p.trainable)} trainable, {fmt_int(p.non_trainable)} non-trainable)")
                lines.append(f"<span style='font-family:monospace'>{escape(p.formula)}</span>")
            if result.status == "ok":
                notes = self.document.teaching(self.node_id).notes[self.node_id]
                for line in notes.arithmetic:
                    lines.append(f"Output {escape(line)}")
                if notes.flops:
                    lines.append(f"Multiply-adds: <b>{fmt_int(notes.flops)}</b> per sample<br><span style='font-family:monospace'>{escape(notes.flops_formula)}</span>")
                if notes.activation_bytes is not None:
                    lines.append(f"Activations: {human_bytes(notes.activation_bytes)} per sample")
                if notes.receptive_field:
                    jump = "x".join(f"{j:g}" for j in notes.jump or ())
                    lines.append(f"Receptive field: <b>{'x'.join(map(str, notes.receptive_field))}</b> input pixels (jump {jump})")
                elif notes.rf_reason:
                    lines.append(f"<span style='color:#777'>Receptive field: {escape(notes.rf_reason)}</span>")
            elif result.status == "unknown":
                lines.append("<span style='color:#777'>Unknown: a layer before this one has a problem.</span>")
        for d in analysis.diagnostics_for(self.node_id):
            colour = "#D62728" if d.severity == "error" else "#B07800"
            lines.append(f"<span style='color:{colour}'><b>{d.severity}</b>: {escape(d.message)}</span>")
            if d.hint:
                lines.append(f"<i>Hint: {escape(d.hint)}</i>")
        self.result.setText("<br>".join(lines))
        self.result_box.show()
