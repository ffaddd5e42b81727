"""The training panel: choose data and settings, train in a worker process, watch the curves live.

The editor never imports TensorFlow: training runs ``python -m engine.worker`` in a separate process
(a QProcess) that writes one JSON message per line; Qt hands them over as they arrive, so the editor
never waits. A worker that crashes, runs out of memory or is killed is reported; the graph and the
finished runs stay.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.datasets import BUILTIN, DatasetError, image_shape_for, resolve
from engine.project import atomic_write_text, graph_to_dict
from engine.protocol import Batch, Done, Epoch, Started
from engine.teaching import human_bytes, training_memory
from engine.training import OPTIMIZERS, TrainConfig, TrainingError, check_memory, history_csv, plan_training
from gui.document import Document
from gui.training_session import Progress, TrainingSession

__all__ = ["TrainingPanel", "Run"]

_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]


@dataclass
class Run:
    """One training run: its settings, curves and results (kept after the run to compare)."""

    number: int
    label: str
    colour: str
    dataset: str = ""
    steps: int = 1
    batch_x: list[float] = field(default_factory=list)
    batch_loss: list[float] = field(default_factory=list)
    batch_acc: list[float] = field(default_factory=list)
    epochs: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] | None = None
    error: str | None = None
    model_path: str | None = None
    epochs_planned: int = 0
    #: How the run ended, in words ("Stopped at epoch 7 of 20.").
    ending: str = ""
    task: str = "classification"
    device: str = "CPU"


class TrainingPanel(QWidget):
    #: A message for the status bar.
    message = Signal(str)
    #: Emitted when a run ends (its Run).
    finished = Signal(object)

    def __init__(self, document: Document, parent: QWidget | None = None, session: TrainingSession | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.runs: list[Run] = []
        self.current: Run | None = None
        #: The worker process and the running job live in the session; this panel renders what it says.
        self.session = session if session is not None else TrainingSession(self)
        self.session.started.connect(self._on_started)
        self.session.batch.connect(self._on_batch)
        self.session.epoch.connect(self._on_epoch)
        self.session.done.connect(self._on_done)
        self.session.failed.connect(lambda message: self._end(error=message))
        self._tmp = tempfile.mkdtemp(prefix="layerlab-runs-")
        self._figures: dict[str, Any] = {}
        self._redraw_timer = QTimer(self)  # batch messages arrive ~10/s; plots redraw at most ~10/s
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(100)
        self._redraw_timer.timeout.connect(self.redraw)
        self._build()

    # -- layout --------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.dataset = QComboBox()
        for name, (description, _task) in BUILTIN.items():
            self.dataset.addItem(name, name)
            self.dataset.setItemData(self.dataset.count() - 1, description, Qt.ItemDataRole.ToolTipRole)
        self.dataset.addItem("CSV / NPZ file…", "__file__")
        self.dataset.addItem("Folder of images…", "__folder__")
        self.dataset.activated.connect(self._dataset_chosen)
        self.target = QLineEdit(placeholderText="target column (CSV)")
        self.optimizer = QComboBox()
        self.optimizer.addItems(list(OPTIMIZERS))
        self.lr = QDoubleSpinBox(decimals=5, minimum=0.00001, maximum=5.0, singleStep=0.0005, value=0.001)
        self.loss = QComboBox()
        self.loss.addItem("automatic (from data and output layer)", "")
        for loss in ("sparse_categorical_crossentropy", "binary_crossentropy"):
            self.loss.addItem(loss, loss)
        self.batch_size = QSpinBox(minimum=1, maximum=65536, value=32)
        self.epochs = QSpinBox(minimum=1, maximum=10000, value=20)
        self.validation = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.9, singleStep=0.05, value=0.2)
        self.early = QCheckBox("stop when validation loss stops improving")
        self.device = QComboBox()
        for label, value in (("automatic (a GPU if TensorFlow sees one)", "auto"), ("CPU", "cpu"), ("GPU", "gpu")):
            self.device.addItem(label, value)
        self.mixed = QCheckBox("mixed precision (GPU)")
        self.tensorboard = QCheckBox("write TensorBoard logs")
        self.tensorboard.setToolTip("Keras's TensorBoard logs, one folder per run, in a 'logs' folder beside the design "
                                    "(or in your home folder); open them with: tensorboard --logdir logs")
        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.progress = QProgressBar()
        self.progress.setFormat("idle")
        self.progress.setValue(0)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.memory = QLabel()
        self.memory.setWordWrap(True)
        self.memory.setStyleSheet("color: #555;")

        form = QFormLayout()
        form.addRow("dataset", self.dataset)
        form.addRow("", self.target)
        form.addRow("optimizer", self.optimizer)
        form.addRow("learning rate", self.lr)
        form.addRow("loss", self.loss)
        form.addRow("batch size", self.batch_size)
        form.addRow("epochs", self.epochs)
        form.addRow("validation split", self.validation)
        form.addRow("", self.early)
        form.addRow("device", self.device)
        form.addRow("", self.mixed)
        form.addRow("", self.tensorboard)
        form.addRow("", self.memory)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        controls = QWidget()
        left = QVBoxLayout(controls)
        left.addLayout(form)
        left.addLayout(buttons)
        left.addWidget(self.progress)
        left.addWidget(self.status)
        left.addStretch(1)

        pg.setConfigOptions(antialias=True, background="w", foreground="#333")
        self.loss_plot = pg.PlotWidget(title="Loss")
        self.acc_plot = pg.PlotWidget(title="Accuracy")
        for plot, corner in ((self.loss_plot, (-10, 10)), (self.acc_plot, (-10, -40))):
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setLabel("bottom", "epoch")
            legend = plot.addLegend(offset=corner, labelTextSize="8pt")
            legend.setBrush(pg.mkBrush(255, 255, 255, 200))
        self._items: dict[tuple[int, str], Any] = {}
        self.acc_plot.setYRange(0, 1)
        plots = QWidget()
        plots_layout = QHBoxLayout(plots)
        plots_layout.setContentsMargins(0, 0, 0, 0)
        plots_layout.addWidget(self.loss_plot)
        plots_layout.addWidget(self.acc_plot)

        self.results = QLabel("No run yet.")
        self.results.setWordWrap(True)
        self.results.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.matrix = QTableWidget()
        self.matrix.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.runs_list = QListWidget()
        self.runs_list.itemChanged.connect(lambda _item: self.redraw())
        self.runs_list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.runs_list.customContextMenuRequested.connect(self._runs_menu)
        self.runs_list.setToolTip("Tick runs to overlay their curves; right-click to rename, export or delete one")
        self.save_model_button = QPushButton("Save trained model…")
        self.save_history_button = QPushButton("Save history (CSV)…")
        self.save_model_button.clicked.connect(self.save_model_dialog)
        self.save_history_button.clicked.connect(self.save_history_dialog)
        for b in (self.save_model_button, self.save_history_button):
            b.setEnabled(False)
        results_box = QWidget()
        results_layout = QVBoxLayout(results_box)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.addWidget(self.results)
        tabs = QTabWidget()
        self.result_tabs = tabs
        self.matrix.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.matrix.verticalHeader().setMinimumSectionSize(8)
        self.matrix.horizontalHeader().setMinimumSectionSize(8)
        self.matrix.setToolTip("% of each true class (row) predicted as each class (column)")
        small = self.matrix.font()
        small.setPointSizeF(max(6.5, small.pointSizeF() - 1.5))  # "100" fits a cell of a 10-class matrix
        self.matrix.setFont(small)
        tabs.addTab(self.matrix, "Confusion (%)")
        self.scatter = pg.PlotWidget(title="Predicted against true (test set)")
        self.scatter.setLabel("bottom", "true")
        self.scatter.setLabel("left", "predicted")
        tabs.addTab(self.scatter, "Predicted/true")
        pictures = QWidget()
        pictures_layout = QVBoxLayout(pictures)
        pictures_layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.picture_choice = QComboBox()
        self.picture_choice.setToolTip("What the network learned: the test images it got wrong, its first filters, "
                                       "and what each convolution layer sees in a test image")
        self.picture_image = QSpinBox(minimum=1, maximum=1)
        self.picture_image.setPrefix("test image ")
        row.addWidget(self.picture_choice, 1)
        row.addWidget(self.picture_image)
        pictures_layout.addLayout(row)
        self.picture_view = pg.PlotWidget()
        self.picture_view.setAspectLocked(True)
        self.picture_view.invertY(True)
        self.picture_view.hideAxis("left")
        self.picture_view.hideAxis("bottom")
        self.picture_item = pg.ImageItem()
        self.picture_view.addItem(self.picture_item)
        pictures_layout.addWidget(self.picture_view, 1)
        self.picture_caption = QLabel()
        self.picture_caption.setWordWrap(True)
        pictures_layout.addWidget(self.picture_caption)
        self.picture_choice.currentIndexChanged.connect(lambda _i: self.show_picture())
        self.picture_image.valueChanged.connect(lambda _v: self.show_picture())
        tabs.addTab(pictures, "Pictures")
        runs_box = QWidget()
        runs_layout = QVBoxLayout(runs_box)
        runs_layout.addWidget(QLabel("Tick runs to overlay their curves:"))
        runs_layout.addWidget(self.runs_list)
        tabs.addTab(runs_box, "Runs")
        results_layout.addWidget(tabs)
        save_row = QHBoxLayout()
        save_row.addWidget(self.save_model_button)
        save_row.addWidget(self.save_history_button)
        results_layout.addLayout(save_row)

        # The settings scroll rather than set the dock's height: the canvas keeps the screen on a laptop.
        scroll = QScrollArea()
        scroll.setWidget(controls)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setMinimumWidth(240)
        splitter = QSplitter()
        splitter.addWidget(scroll)
        splitter.addWidget(plots)
        splitter.addWidget(results_box)
        splitter.setStretchFactor(1, 3)
        splitter.setStretchFactor(2, 1)
        splitter.setSizes([280, 620, 380])  # the curves get the room; the settings scroll
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(splitter)
        self._choose_defaults()
        self.batch_size.valueChanged.connect(self.update_memory)
        self.optimizer.currentTextChanged.connect(self.update_memory)
        self.document.analysed.connect(self.update_memory)
        self.update_memory()

    def _folder(self) -> str:
        """File dialogs open in the design's folder, else the home folder (never the working folder)."""
        path = getattr(self.document, "path", None)
        return str(Path(path).resolve().parent) if path else str(Path.home())

    def set_document(self, document: Document) -> None:
        """Show another design; finished runs stay for comparison."""
        try:
            self.document.analysed.disconnect(self.update_memory)
        except (RuntimeError, TypeError):
            pass
        self.document = document
        document.analysed.connect(self.update_memory)
        self._choose_defaults()
        self.update_memory()

    def update_memory(self, *_args: Any) -> None:
        """The estimate of what training needs for the chosen batch size and optimizer, explained."""
        analysis = self.document.analysis
        if not analysis.totals_complete:
            self.memory.setText("Training memory: unknown until the errors are fixed.")
            return
        need = training_memory(self.document.graph, self.batch_size.value(), self.optimizer.currentText(), analysis)
        parts = ", ".join(f"{k.replace('_', ' ')} {human_bytes(v)}" for k, v in need.items())
        self.memory.setText(f"Training memory ≈ <b>{human_bytes(sum(need.values()))}</b> ({parts})")

    def _choose_defaults(self) -> None:
        """Pick a built-in dataset that fits the Input, so Start works on the examples."""
        analysis = self.document.analysis
        if not analysis.input_nodes:
            return
        shape = tuple(self.document.graph.node(analysis.input_nodes[0]).params["shape"])
        guess = {(8, 8, 1): "digits", (28, 28, 1): "mnist", (32, 32, 3): "cifar10", (4,): "iris", (13,): "wine", (30,): "breast_cancer"}.get(shape)
        if guess:
            self.dataset.setCurrentIndex(self.dataset.findData(guess))

    def _dataset_chosen(self, index: int) -> None:
        kind = self.dataset.itemData(index)
        if kind == "__file__":
            path, _ = QFileDialog.getOpenFileName(self, "Dataset file", self._folder(), "Data (*.csv *.npz)")
        elif kind == "__folder__":
            path = QFileDialog.getExistingDirectory(self, "Folder with one subfolder per class", self._folder())
        else:
            return
        if path:
            self.dataset.insertItem(0, os.path.basename(path.rstrip("/")) or path, path)
            self.dataset.setCurrentIndex(0)
        else:
            self.dataset.setCurrentIndex(0)

    # -- running -------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.session.running

    def config(self) -> TrainConfig:
        dataset = resolve(self.dataset.currentData(), self.target.text().strip(), image_shape_for(self.document.graph))
        return TrainConfig(
            dataset=dataset,
            optimizer=self.optimizer.currentText(),
            learning_rate=self.lr.value(),
            batch_size=self.batch_size.value(),
            epochs=self.epochs.value(),
            validation_split=self.validation.value(),
            early_stopping=self.early.isChecked(),
            loss=self.loss.currentData(),
            tensorboard=os.path.join(self._folder(), "logs", f"run{len(self.runs) + 1}-{time.strftime('%Y%m%d-%H%M%S')}")
            if self.tensorboard.isChecked() else "",
            device=self.device.currentData(),
            mixed_precision=self.mixed.isChecked(),
        )

    def start(self) -> bool:
        """Check the design and data settings, then hand the job to the session. Problems are shown, not raised."""
        if self.running:
            return False
        try:
            config = self.config()
            plan_training(self.document.graph, config)  # graph errors, output/loss problems
            check_memory(self.document.graph, config)
        except (TrainingError, DatasetError) as exc:
            self._fail_before_start(str(exc))
            return False
        number = len(self.runs) + 1
        design = self.document.display_name
        run = Run(number, f"#{number} {design} · {config.dataset.label}, {config.optimizer} lr={config.learning_rate:g}, "
                  f"bs={config.batch_size} · {time.strftime('%H:%M')}", _COLOURS[(number - 1) % len(_COLOURS)], dataset=config.dataset.kind)
        run.model_path = os.path.join(self._tmp, f"run{number}.keras")
        run.epochs_planned = config.epochs
        run.task = config.dataset.task
        self.current = run
        warm = self.session.warm
        self.session.start(graph_to_dict(self.document.graph), config, run.model_path)
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.progress.setRange(0, 0)  # busy until the worker reports
        self.progress.setFormat("preparing the data…" if warm else "loading TensorFlow…")
        self.status.setText("Starting…" if warm else "Starting the training process (loading TensorFlow)…")
        self.redraw()
        return True

    def _fail_before_start(self, message: str) -> None:
        self.status.setText(f"<span style='color:#D62728'>Cannot train: {message}</span>")
        self.message.emit(f"Cannot train: {message}")

    def stop(self) -> None:
        """Ask the worker to stop after the current batch (killed if it does not within 10 s)."""
        if self.running:
            self.session.stop()
            self.status.setText("Stopping after this batch…")

    def kill_worker(self) -> None:
        self.session.kill()

    def _on_started(self, message: Started) -> None:
        run = self.current
        assert run is not None
        run.steps = message.steps
        run.device = message.device
        self.progress.setRange(0, message.epochs * message.steps)
        regression = run.task == "regression"
        self.acc_plot.setTitle("Mean absolute error" if regression else "Accuracy")
        if regression:
            self.acc_plot.enableAutoRange(axis="y")
        else:
            self.acc_plot.setYRange(0, 1)
        self.status.setText(f"Training on {message.dataset} ({message.device}): {message.samples:,} samples, loss {message.loss}, "
                            f"{message.params:,} parameters.")

    def _show_progress(self, progress: Progress) -> None:
        self.progress.setRange(0, progress.total)  # the run's own epochs, whatever the spin box says now
        self.progress.setValue(progress.done)
        self.progress.setFormat(progress.text)

    def _on_batch(self, message: Batch, progress: Progress) -> None:
        run = self.current
        assert run is not None
        run.batch_x.append(message.epoch - 1 + message.batch / message.steps)
        run.batch_loss.append(message.loss)
        run.batch_acc.append(message.accuracy if message.accuracy is not None else float("nan"))
        self._show_progress(progress)
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def _on_epoch(self, message: Epoch, progress: Progress) -> None:
        assert self.current is not None
        self.current.epochs.append(asdict(message))
        self._show_progress(progress)
        self.redraw()

    def _on_done(self, message: Done, ending: str) -> None:
        assert self.current is not None
        self.current.result = asdict(message)
        self.current.ending = ending
        self._end()

    def _end(self, error: str | None = None) -> None:
        run = self.current
        assert run is not None
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        finished = error is None and not (run.result or {}).get("stopped") and not (run.result or {}).get("early_stopped")
        if error is None and not finished:  # the bar stays where the run stopped: not 100% "done"
            if self.progress.maximum() == 0:
                self.progress.setRange(0, 1)
            self.progress.setFormat(run.ending)
        else:
            self.progress.setRange(0, 1)
            self.progress.setValue(1 if error is None else 0)
            self.progress.setFormat("done" if error is None else "failed")
        run.error = error
        self.runs.append(run)
        item = QListWidgetItem(run.label + ("  (failed)" if error else ""))
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Unchecked)
        item.setForeground(QBrush(QColor(run.colour)))
        self.runs_list.blockSignals(True)
        self.runs_list.addItem(item)
        self.runs_list.blockSignals(False)
        if error:
            self.status.setText(f"<span style='color:#D62728'>{error}</span>")
            self.results.setText(f"Run #{run.number} failed: {error}")
            self.message.emit(f"Training failed: {error}")
        else:
            self._show_results(run)
        self.save_model_button.setEnabled(error is None and run.model_path is not None and os.path.exists(run.model_path))
        self.save_history_button.setEnabled(bool(run.epochs))
        self.current = run
        self.redraw()
        self.finished.emit(run)

    def _show_results(self, run: Run) -> None:
        r = run.result or {}

        def pct(key: str) -> str:
            return "—" if r.get(key) is None else f"{100 * r[key]:.1f}%"

        def number(key: str) -> str:
            return "—" if r.get(key) is None else f"{r[key]:.4g}"

        stopped = f" ({run.ending[:-1].lower()})" if r.get("stopped") or r.get("early_stopped") else ""
        head = f"<b>Run #{run.number}</b>{stopped}: {r.get('epochs_run', 0)} epochs in {r.get('seconds', 0):.1f} s on {r.get('device', 'CPU')}<br>"
        if r.get("task") == "regression":
            self.results.setText(head + f"mean absolute error: training {number('mae')}, validation <b>{number('val_mae')}</b>, "
                                        f"test <b>{number('test_mae')}</b> (in the target's units)")
        else:
            self.results.setText(head + f"training accuracy {pct('accuracy')}, validation accuracy <b>{pct('val_accuracy')}</b>, "
                                        f"test accuracy <b>{pct('test_accuracy')}</b>")
        self.status.setText(run.ending)
        pairs = r.get("predictions")
        self.scatter.clear()
        if pairs:  # regression: predicted against true replaces the confusion matrix
            truth, guess = [p[0] for p in pairs], [p[1] for p in pairs]
            low, high = min(truth + guess), max(truth + guess)
            self.scatter.plot([low, high], [low, high], pen=pg.mkPen("#999999", style=Qt.PenStyle.DashLine))
            self.scatter.plot(truth, guess, pen=None, symbol="o", symbolSize=5, symbolBrush=QColor(run.colour))
            self.result_tabs.setCurrentWidget(self.scatter)
        self._fill_matrix(r.get("confusion_matrix"))
        self._fill_pictures(r.get("figures"))

    def _fill_pictures(self, figures: dict[str, Any] | None) -> None:
        self._figures = figures or {}
        self.picture_choice.blockSignals(True)
        self.picture_choice.clear()
        if self._figures.get("misclassified"):
            self.picture_choice.addItem(f"Misclassified test images ({len(self._figures['misclassified'])})", ("wrong", None))
        if self._figures.get("filters"):
            self.picture_choice.addItem(f"Filters of {self._figures['filters']['layer']}", ("filters", None))
        for index, maps in enumerate(self._figures.get("feature_maps", [])):
            self.picture_choice.addItem(f"Feature maps of {maps['layer']}", ("maps", index))
        self.picture_choice.blockSignals(False)
        self.picture_image.setMaximum(max(1, len(self._figures.get("samples", []))))
        self.show_picture()

    def show_picture(self) -> Any:
        """Show the chosen picture; returns the mosaic drawn (an 8-bit array), or None."""
        from engine.figures import mosaic

        choice = self.picture_choice.currentData()
        self.picture_image.setEnabled(bool(choice) and choice[0] == "maps")
        if not choice:
            self.picture_item.clear()
            self.picture_caption.setText("Pictures appear after a run on images (misclassified images, filters, feature maps).")
            return None
        kind, index = choice
        if kind == "wrong":
            items = self._figures["misclassified"]
            image = mosaic([i["image"] for i in items], columns=8, pad=2)
            self.picture_caption.setText("Left to right, top to bottom: " + ", ".join(f"true {i['true']} said {i['predicted']}" for i in items))
        elif kind == "filters":
            image = mosaic(self._figures["filters"]["images"], columns=8, pad=1)
            self.picture_caption.setText("Each filter's weights (averaged over input channels): bright is positive, dark negative.")
        else:
            maps = self._figures["feature_maps"][index]
            sample = min(self.picture_image.value(), len(maps["images"])) - 1
            image = mosaic([self._figures["samples"][sample], *maps["images"][sample]], columns=9, pad=1)
            self.picture_caption.setText(f"The test image, then what the first channels of {maps['layer']} respond to in it.")
        self.picture_item.setImage(image.transpose(1, 0, 2))
        self.picture_view.autoRange()
        return image

    def _fill_matrix(self, matrix: list[list[int]] | None) -> None:
        """The confusion matrix normalised by true class (each row sums to 100%), counts in the tooltips;
        its cells stretch to the panel, so a 10-class matrix fits without scrolling."""
        if not matrix:
            self.matrix.setRowCount(0)
            self.matrix.setColumnCount(0)
            return
        n = len(matrix)
        self.matrix.setRowCount(n)
        self.matrix.setColumnCount(n)
        self.matrix.setHorizontalHeaderLabels([str(i) for i in range(n)])
        self.matrix.setVerticalHeaderLabels([str(i) for i in range(n)])
        for i, row in enumerate(matrix):
            total = sum(row) or 1
            for j, count in enumerate(row):
                share = count / total
                item = QTableWidgetItem(f"{100 * share:.0f}" if count else "")
                item.setToolTip(f"true {i}, predicted {j}: {count} of {sum(row)} ({100 * share:.1f}%)")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                base = QColor(44, 160, 44) if i == j else QColor(214, 39, 40)
                item.setBackground(QBrush(QColor(base.red(), base.green(), base.blue(), int(30 + 200 * share) if count else 0)))
                self.matrix.setItem(i, j, item)
        self.result_tabs.setCurrentWidget(self.matrix)

    # -- plotting ------------------------------------------------------------------------------------

    def redraw(self) -> None:
        """Show the current run and the ticked ones. Plot items are kept and only given new data,
        which keeps an update to a few milliseconds however long the run."""
        ticked = [self.runs[i] for i in range(self.runs_list.count()) if self.runs_list.item(i).checkState() == Qt.CheckState.Checked]
        reference = self.current or (ticked[0] if ticked else None)
        # Curves compare only on the same data: a run on another dataset is listed, not overlaid.
        shown = [r for r in ticked if reference is None or r.dataset == reference.dataset]
        if len(shown) < len(ticked) and reference is not None:
            self.status.setText(f"Only runs on {reference.dataset} are overlaid: the others were trained on other data.")
        if self.current is not None and self.current not in shown:
            shown.append(self.current)
        wanted: set[tuple[int, str]] = set()
        for run in shown:
            for key, plot, xs, ys, style in self._curves(run):
                wanted.add((run.number, key))
                item = self._items.get((run.number, key))
                if item is None:
                    item = plot.plot(name=None if key.startswith("batch") else f"#{run.number} {key.split('_')[0]}", **style)
                    self._items[(run.number, key)] = item
                item.setData(xs, ys)
        for key in list(self._items):
            if key not in wanted:
                item = self._items.pop(key)
                for plot in (self.loss_plot, self.acc_plot):
                    if item in plot.listDataItems():
                        plot.removeItem(item)

    def _curves(self, run: Run) -> list[tuple[str, Any, list, list, dict]]:
        colour = QColor(run.colour)
        faded = run is not self.current
        batch = {"pen": pg.mkPen(colour.lighter(150 if not faded else 175), width=1)}
        train = {"pen": pg.mkPen(colour, width=2, style=Qt.PenStyle.DashLine if faded else Qt.PenStyle.SolidLine), "symbol": "o", "symbolSize": 5, "symbolBrush": colour}
        val = {"pen": pg.mkPen(colour.darker(150), width=2, style=Qt.PenStyle.DotLine), "symbol": "s", "symbolSize": 5, "symbolBrush": colour.darker(150)}
        xs = [e["epoch"] for e in run.epochs]
        curves = [("batch_loss", self.loss_plot, run.batch_x, run.batch_loss, batch),
                  ("train_loss", self.loss_plot, xs, [e["loss"] for e in run.epochs], train)]
        if any(a == a for a in run.batch_acc):
            curves.append(("batch_acc", self.acc_plot, run.batch_x, run.batch_acc, batch))
        if run.epochs and run.epochs[0].get("val_loss") is not None:
            curves.append(("validation_loss", self.loss_plot, xs, [e["val_loss"] for e in run.epochs], val))
        metric = "mae" if run.epochs and run.epochs[0].get("mae") is not None else "accuracy"  # regression: mean absolute error
        if run.epochs and run.epochs[0].get(metric) is not None:
            curves.append(("train_acc", self.acc_plot, xs, [e[metric] for e in run.epochs], train))
        if run.epochs and run.epochs[0].get(f"val_{metric}") is not None:
            curves.append(("validation_acc", self.acc_plot, xs, [e[f"val_{metric}"] for e in run.epochs], val))
        return curves

    # -- runs ----------------------------------------------------------------------------------------

    def _runs_menu(self, pos: Any) -> None:
        item = self.runs_list.itemAt(pos)
        if item is None:
            return
        index = self.runs_list.row(item)
        menu = QMenu(self)
        menu.addAction("Rename…", lambda: self._rename_dialog(index))
        menu.addAction("Export History as CSV…", lambda: self._export_dialog(index))
        menu.addAction("Delete", lambda: self.delete_run(index))
        menu.popup(self.runs_list.viewport().mapToGlobal(pos))

    def _rename_dialog(self, index: int) -> None:
        from PySide6.QtWidgets import QInputDialog

        name, ok = QInputDialog.getText(self, "Rename Run", "Name:", text=self.runs[index].label)
        if ok:
            self.rename_run(index, name)

    def rename_run(self, index: int, label: str) -> None:
        """Give a run a name of the user's (the curves' legend and the list follow)."""
        label = " ".join(label.split())[:200]
        if not label:
            return
        run = self.runs[index]
        run.label = label
        self.runs_list.item(index).setText(label + ("  (failed)" if run.error else ""))

    def delete_run(self, index: int) -> None:
        """Forget a run: its curves go, and its saved model file with it."""
        run = self.runs.pop(index)
        self.runs_list.takeItem(index)
        if run.model_path and os.path.exists(run.model_path) and run.model_path.startswith(self._tmp):
            os.remove(run.model_path)
        if self.current is run:
            self.current = self.runs[-1] if self.runs else None
            self.save_model_button.setEnabled(False)
            self.save_history_button.setEnabled(bool(self.current and self.current.epochs))
        self.redraw()

    def _export_dialog(self, index: int) -> None:
        run = self.runs[index]
        path, _ = QFileDialog.getSaveFileName(self, "Export history", os.path.join(self._folder(), f"run{run.number}.csv"), "CSV (*.csv)")
        if path:
            self.export_run(index, path)

    def export_run(self, index: int, path: str) -> None:
        """The run's per-epoch history as CSV."""
        try:
            atomic_write_text(path, history_csv(self.runs[index].epochs))
        except OSError as exc:
            QMessageBox.warning(self, "Cannot save", f"{path}: {exc.strerror or exc}")
            return
        self.message.emit(f"Saved the history of {self.runs[index].label} to {path}")

    # -- saving --------------------------------------------------------------------------------------

    def save_model_dialog(self) -> None:
        run = self.current
        if run is None or not run.model_path:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save trained model", os.path.join(self._folder(), f"trained_run{run.number}.keras"), "Keras model (*.keras)")
        if path:
            self.save_model(path)

    def save_model(self, path: str) -> None:
        assert self.current is not None and self.current.model_path
        try:
            shutil.copyfile(self.current.model_path, path)
        except OSError as exc:
            QMessageBox.warning(self, "Cannot save", f"{path}: {exc.strerror or exc}")
            return
        self.message.emit(f"Saved the trained model to {path}")

    def save_history_dialog(self) -> None:
        run = self.current
        if run is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save history", os.path.join(self._folder(), f"history_run{run.number}.csv"), "CSV (*.csv)")
        if path:
            self.save_history(path)

    def save_history(self, path: str) -> None:
        assert self.current is not None
        try:
            atomic_write_text(path, history_csv(self.current.epochs))
        except OSError as exc:
            QMessageBox.warning(self, "Cannot save", f"{path}: {exc.strerror or exc}")
            return
        self.message.emit(f"Saved the history to {path}")

    def shutdown(self) -> None:
        """Stop the workers and remove temporary files (the window is closing)."""
        self.session.shutdown()
        shutil.rmtree(self._tmp, ignore_errors=True)
