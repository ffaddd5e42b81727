"""The command line: ``python main.py summary|import ...``.

Exit codes: 0 success (for ``summary``: the graph is valid), 1 the graph has errors,
2 the input cannot be read or the arguments are wrong. Errors are one line on stderr, never a
traceback. TensorFlow is never imported here.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from engine.i18n import _
from pathlib import Path

__all__ = ["COMMANDS", "main"]

COMMANDS = ("summary", "import", "export", "train", "check", "grade", "validate", "similar", "diff")

EXIT_OK, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2
#: ``check``: everything checked passed, but training criteria were not run; ``grade``: the checker failed on a design.
EXIT_INCOMPLETE = 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="main.py", description="LayerLab: design neural networks by drawing them.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("summary", help="print every layer's output shape and parameter count, and the problems")
    p.add_argument("project", help="a LayerLab project (.json) or a Keras model (.keras, .h5)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--explain", action="store_true", help="also show how every number comes about (formulas, output sizes, receptive fields)")
    p.add_argument("--batch-size", type=int, default=32, help="batch size for the training-memory estimate (default 32)")
    p = sub.add_parser("import", help="turn a Keras .keras/.h5 model into a LayerLab project")
    p.add_argument("model", help="a .keras or .h5 model file")
    p.add_argument("-o", "--output", required=True, help="project file to write (.json)")
    p = sub.add_parser("export", help="write the network as Keras code, PyTorch code, or an ONNX, LiteRT, SavedModel or .keras model")
    p.add_argument("project", help="a LayerLab project (.json) or a Keras model (.keras, .h5)")
    p.add_argument("-o", "--output", help="Keras script to write (.py)")
    p.add_argument("--train", metavar="DATASET", help="add compile-and-fit code for this dataset (name, .csv, .npz or image folder)")
    p.add_argument("--target", default="", help="target column of a CSV dataset")
    p.add_argument("--optimizer", default="adam", choices=["adam", "adamw", "sgd", "rmsprop"])
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--strategy", choices=["mirrored", "multi-worker"], help="tf.distribute strategy for several GPUs or machines")
    p.add_argument("--keras", metavar="MODEL.keras", help="save the model as a .keras file (imports TensorFlow)")
    p.add_argument("--onnx", metavar="MODEL.onnx", help="save the model as ONNX, checked in ONNX Runtime against Keras")
    p.add_argument("--litert", metavar="MODEL.tflite", help="save the model as LiteRT (TFLite), checked in the LiteRT interpreter against Keras")
    p.add_argument("--saved-model", metavar="DIR", help="save the model as a TensorFlow SavedModel folder, checked against Keras")
    p.add_argument("--torch", metavar="MODEL_torch.py", help="write PyTorch code for the model (PyTorch is not needed to write it)")
    p.add_argument("--seed", type=int, default=None, help="seed of the initial weights of the saved models (default 1234)")
    p = sub.add_parser("train", help="train the network on a dataset, printing progress")
    p.add_argument("project", help="a LayerLab project (.json) or a Keras model (.keras, .h5)")
    p.add_argument("--dataset", required=True, help="digits, iris, wine, breast_cancer, mnist, fashion_mnist, cifar10, or a .csv/.npz file or image folder")
    p.add_argument("--target", default="", help="target column of a CSV dataset")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--optimizer", default="adam", choices=["adam", "adamw", "sgd", "rmsprop"])
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate")
    p.add_argument("--validation-split", type=float, default=0.2)
    p.add_argument("--early-stopping", action="store_true")
    p.add_argument("--save-model", metavar="MODEL.keras", help="save the trained model")
    p.add_argument("--history", metavar="HISTORY.csv", help="save the per-epoch history")
    p.add_argument("--json", action="store_true", help="one JSON object per epoch, then one with the final metrics")
    p.add_argument("--tensorboard", metavar="DIR", help="also write Keras's TensorBoard logs to DIR (open with: tensorboard --logdir DIR)")
    p.add_argument("--device", choices=["auto", "cpu", "gpu"], default="auto", help="where to train (auto: a GPU when TensorFlow sees one)")
    p.add_argument("--figures", metavar="DIR", help="save PNG pictures of the run to DIR: curves, confusion matrix or predicted vs true, "
                   "misclassified images, first-layer filters, feature maps")
    p.add_argument("--mixed-precision", action="store_true", help="float16 computations with float32 weights (GPU only)")
    p.add_argument("--task", choices=["auto", "classification", "regression"], default="auto",
                   help="classes or a number to predict (auto: from the dataset; a CSV's numeric target with many values is regression)")
    p = sub.add_parser("check", help="check a design against an exercise")
    p.add_argument("exercise", help="an exercise file (.json)")
    p.add_argument("design", help="the student's project file (.json)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--train", action="store_true", help="also run training criteria (slow)")
    p.add_argument("--all", action="store_true", help="also show hidden criteria (for the teacher)")
    p = sub.add_parser("grade", help="check every design under a folder (one folder per student, or flat) against an exercise")
    p.add_argument("exercise", help="an exercise file (.json)")
    p.add_argument("folder", help="a folder of student project files (*.json), searched recursively")
    p.add_argument("-o", "--output", required=True, help="CSV report to write")
    p.add_argument("--train", action="store_true", help="also run training criteria (slow)")
    p.add_argument("-j", "--jobs", type=int, default=1, help="train this many designs at once, in worker processes (default 1)")
    p.add_argument("--results-json", metavar="DIR",
                   help="write a Gradescope results.json per submission: DIR/NAME/results.json "
                   "(NAME: the CSV's output column)")
    p.add_argument("--feedback", metavar="DIR", help="write a Markdown feedback file per submission: DIR/NAME.md")
    p = sub.add_parser("validate", help="check an exercise: its solution passes, its known-wrong designs fail")
    p.add_argument("exercise", help="an exercise file (.json)")
    p.add_argument("wrong", nargs="?", help="folder of known-wrong designs (default wrong/EXERCISE_NAME/ beside the exercise)")
    p.add_argument("--mutants", action="store_true",
                   help="also grade typical mistakes generated from the reference solution, "
                   "and list those that pass every criterion")
    p = sub.add_parser("similar", help="group designs that are identical up to names and positions, and list near-duplicates")
    p.add_argument("folder", help="a folder of project files (*.json), searched recursively")
    p.add_argument("--threshold", type=float, default=0.8, help="similarity from which a pair is listed (0 to 1, default 0.8)")
    p.add_argument("--reference", metavar="DESIGN",
                   help="the reference solution (a design, or an exercise file: its solution): "
                   "each pair is set against it, and pairs close to each other but far from it come first")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p = sub.add_parser("diff", help="compare two designs layer by layer")
    p.add_argument("a", help="first design (.json, .keras, .h5)")
    p.add_argument("b", help="second design")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def load_any(path: str):
    """Load a project file, or import a Keras model file; returns ``(graph, title)``.

    Raises `ProjectError` or `KerasImportError` with a one-line message.
    """
    from engine.project import load_design

    graph, meta, _fresh = load_design(path)
    return graph, meta.get("name") or Path(path).stem


def _summary(args: argparse.Namespace) -> int:
    from engine.analysis import analyse
    from engine.report import summary_json, summary_text

    if args.batch_size < 1:
        raise _UsageError("--batch-size must be at least 1")
    graph, title = load_any(args.project)
    analysis = analyse(graph)
    if args.json:
        json.dump(summary_json(graph, analysis, args.batch_size), sys.stdout)
        sys.stdout.write("\n")
    else:
        print(summary_text(graph, analysis, title, explain_numbers=args.explain, batch_size=args.batch_size))
    return EXIT_OK if analysis.is_valid else EXIT_INVALID


def _import(args: argparse.Namespace) -> int:
    from engine.analysis import analyse
    from engine.keras_import import import_keras_model
    from engine.project import save_project

    graph = import_keras_model(args.model)
    save_project(graph, args.output, name=Path(args.model).stem)
    analysis = analyse(graph)
    operations = sum(1 for node in graph.nodes() if node.spec.family == "Operation")
    counted = f"{len(graph) - operations} layers" + (f" and {operations} operations" if operations else "")
    nested = f", {len(graph.groups)} nested model(s)" if graph.groups else ""
    for d in analysis.diagnostics:
        where = f"{graph.node(d.node).name}: " if d.node else ""
        print(f"  {d.severity}: {where}{d.message}" + (f" Hint: {d.hint}" if d.hint else ""), file=sys.stderr)
    if not analysis.is_valid:
        # A partial count is not the model's: say how many errors, and fail.
        print(f"Imported {counted} from {args.model} into {args.output}{nested}, but the design has "
              f"{len(analysis.errors)} error(s) (listed above); its parameter count is not known.", file=sys.stderr)
        return EXIT_INVALID
    print(f"Imported {counted} from {args.model} into {args.output}{nested} ({analysis.total_params:,} parameters).")
    return EXIT_OK


def _training_config(args: argparse.Namespace, graph):  # noqa: ANN001, ANN202
    from engine.datasets import image_shape_for, resolve
    from engine.training import TrainConfig

    dataset = resolve(args.dataset if hasattr(args, "dataset") else args.train, args.target, image_shape_for(graph), getattr(args, "task", "auto"))
    return TrainConfig(
        dataset=dataset,
        optimizer=args.optimizer,
        learning_rate=args.lr,
        batch_size=args.batch_size,
        epochs=args.epochs,
        validation_split=getattr(args, "validation_split", 0.2),
        early_stopping=getattr(args, "early_stopping", False),
        tensorboard=getattr(args, "tensorboard", None) or "",
        device=getattr(args, "device", "auto"),
        mixed_precision=getattr(args, "mixed_precision", False),
    )


def _export(args: argparse.Namespace) -> int:
    from engine.i18n import _

    from engine.codegen import generate_code
    from engine.export.keras_model import model_name_from
    from engine.project import atomic_write_text
    from engine.training import plan_training

    targets = {fmt: path for fmt, path in (("onnx", args.onnx), ("litert", args.litert), ("saved_model", args.saved_model)) if path}
    if not (args.output or args.keras or args.torch or targets):
        raise _UsageError(_("Say what to write: -o MODEL.py, --keras, --onnx, --litert, --saved-model or --torch."))
    if args.train and not args.output:
        raise _UsageError(_("--train adds training code to the Keras script: give it with -o MODEL.py."))
    graph, title = load_any(args.project)
    torch_code = None
    if args.torch:
        from engine.export.torch_code import generate_torch_code

        torch_code = generate_torch_code(graph, title=title, model_name=model_name_from(title))
    if targets:
        from engine.export.formats import check_exportable

        check_exportable(graph, targets)  # refused layers are said before anything is written or TensorFlow imported
    if args.output:
        training = None
        if args.train:
            training = plan_training(graph, _training_config(args, graph))
            training.strategy = {"mirrored": "mirrored", "multi-worker": "multi_worker"}.get(args.strategy or "")
        elif args.strategy:
            raise _UsageError("--strategy needs --train DATASET (it wraps the training code)")
        source = generate_code(graph, title=title, model_name=model_name_from(title), training=training)
        atomic_write_text(args.output, source)
        print(_("Wrote {path} ({layers} layers).").format(path=args.output, layers=len(graph)))
    if torch_code is not None:
        atomic_write_text(args.torch, torch_code.source)
        print(torch_code.summary(args.torch))
    if args.keras or targets:
        from engine.export.formats import export_formats
        from engine.export.keras_model import DEFAULT_SEED, build_keras_model

        seed = DEFAULT_SEED if args.seed is None else args.seed
        model = build_keras_model(graph, seed=seed, model_name=model_name_from(title))
        if targets:
            export_formats(graph, targets, seed=seed, model=model, progress=print)
        if args.keras:
            model.save(args.keras)
            print(_("Saved the model to {path} (initial weights drawn with seed {seed}).").format(path=args.keras, seed=seed))
    return EXIT_OK


def _train(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from engine.protocol import Batch, Done, Epoch, Message, Started
    from engine.training import TrainingError, history_csv, run_training

    graph, _title = load_any(args.project)
    config = _training_config(args, graph)
    if args.figures:  # a folder that cannot be written is said before training, not after it
        Path(args.figures).mkdir(parents=True, exist_ok=True)

    def emit(message: Message) -> None:
        if args.json:
            if isinstance(message, Epoch):
                print(json.dumps({k: v for k, v in asdict(message).items() if not (k in ("mae", "val_mae") and v is None)}), flush=True)
            elif isinstance(message, Done):
                final = {k: v for k, v in asdict(message).items() if k not in ("history", "figures", "predictions")}
                print(json.dumps({"final": True, **final}), flush=True)
            return
        if isinstance(message, Started):
            print(f"Training on {message.dataset}: {message.samples:,} samples, {message.steps} batches per epoch, loss {message.loss}", flush=True)
        elif isinstance(message, Batch):
            print(f"\repoch {message.epoch}/{config.epochs}  batch {message.batch}/{message.steps}  loss {message.loss:.4f}", end="", flush=True)
        elif isinstance(message, Epoch):
            val = "" if message.val_loss is None else f"  val_loss {message.val_loss:.4f}  val_accuracy {message.val_accuracy or 0:.4f}"
            acc = "" if message.accuracy is None else f"  accuracy {message.accuracy:.4f}"
            if message.mae is not None:  # regression
                acc, val = f"  mae {message.mae:.4f}", "" if message.val_mae is None else f"  val_loss {message.val_loss or 0:.4f}  val_mae {message.val_mae:.4f}"
            print(f"\repoch {message.epoch}/{config.epochs}  loss {message.loss or 0:.4f}{acc}{val}  ({message.seconds:.1f} s)", flush=True)
        elif isinstance(message, Done):
            test = f", test accuracy {message.test_accuracy:.4f}" if message.test_accuracy is not None else (
                f", test mean absolute error {message.test_mae:.4f}" if message.test_mae is not None else "")
            how = (f"Stopped at epoch {message.epochs_run} of {config.epochs}" if message.stopped else
                   f"Early stopping ended training at epoch {message.epochs_run} of {config.epochs}" if message.early_stopped else "Done")
            print(f"{how} in {message.seconds:.1f} s{test}.")

    try:
        result = run_training(graph, config, emit, save_model=args.save_model)
    except TrainingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE if exc.bad_input else EXIT_INVALID
    if args.history:
        from engine.project import atomic_write_text

        atomic_write_text(args.history, history_csv(result.history))
    if args.figures:
        from engine.figures import save_figures

        files = save_figures(result, args.figures)
        if not args.json:
            print(f"Saved {len(files)} pictures to {args.figures}: {', '.join(f.name for f in files)}")
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from engine.exercises import check_design, load_exercise, score
    from engine.project import load_project

    exercise = load_exercise(args.exercise)
    graph, meta = load_project(args.design)
    results = check_design(exercise, graph, meta.get("answers", {}), train=args.train, answer_problems=meta.get("answer_problems"))
    shown = [r for r in results if args.all or not r.hidden]
    earned, possible = score(shown)
    failed = [r for r in shown if r.status in ("failed", "not checked")]
    not_run = [r for r in shown if r.status == "not run"]
    if args.json:
        print(json.dumps({"exercise": exercise.title, "design": args.design, "passed": not failed and not not_run,
                          "points": earned, "max_points": possible, "score": sum(r.passed for r in shown), "total": len(shown),
                          "criteria": [r.to_dict() for r in shown]}))
    else:
        print(f"{exercise.title}: {Path(args.design).name}")
        for r in shown:
            mark = {"passed": "PASS", "failed": "FAIL", "not checked": "WAIT", "not run": "SKIP"}[r.status]
            print(f"  [{mark}] {r.label}: {r.message}")
            if r.hint:
                print(f"         Hint: {r.hint}")
        hidden = len(results) - len(shown)
        more = f" ({hidden} hidden {'criterion is' if hidden == 1 else 'criteria are'} graded by your teacher)" if hidden else ""
        print(f"{sum(r.passed for r in shown)} of {len(shown)} criteria passed, {earned:g} of {possible:g} points{more}.")
        if not_run and not failed:
            print(f"{len(not_run)} training criterion(s) not run: use --train to run them.")
    if failed:
        return EXIT_INVALID
    return EXIT_INCOMPLETE if not_run else EXIT_OK


def _output_folders(folder: Path, args: argparse.Namespace) -> list[Path]:
    """The folders ``grade`` writes to; one that is the class folder or holds it is refused (its results
    would mix with the students' files)."""
    out = []
    for flag, value in (("--results-json", args.results_json), ("--feedback", args.feedback)):
        if not value:
            continue
        path = Path(value).resolve()
        if path == folder.resolve() or path in folder.resolve().parents:
            problem = _("{flag} {folder}: that is the class folder or holds it; choose a folder of its own")
            raise _UsageError(problem.format(flag=flag, folder=value))
        out.append(path)
    return out


def _grade(args: argparse.Namespace) -> int:
    from engine.exercises import load_exercise
    from engine.grading import counted_submissions, grade_class, output_names, report_csv, scan_class, write_outputs
    from engine.project import atomic_write_text

    exercise = load_exercise(args.exercise)
    folder = Path(args.folder)
    if not folder.is_dir():
        raise _UsageError(f"{folder}: not a folder")
    if args.jobs < 1:
        raise _UsageError("--jobs must be at least 1")
    outputs = _output_folders(folder, args)
    scan = scan_class(folder, exclude=outputs)
    for note in scan.notes:
        print(_("note: {note}").format(note=note), file=sys.stderr)
    if not scan.submissions:
        raise _UsageError(f"{folder}: no .json designs found (searched every folder under it)")
    graded = grade_class(exercise, scan.submissions, train=args.train, jobs=args.jobs,
                         progress=lambda line: print(line, file=sys.stderr, flush=True))
    names = output_names(graded)
    atomic_write_text(args.output, report_csv(exercise, graded, names))
    write_outputs(exercise, graded, names, results_json=Path(args.results_json) if args.results_json else None,
                  feedback=Path(args.feedback) if args.feedback else None)
    counts = {status: sum(g.status == status for g in graded) for status in ("graded", "unreadable", "checker error")}
    students = len({g.submission.key for g in graded})
    unreadable = f" ({counts['unreadable']} unreadable)" if counts["unreadable"] else ""
    print(f"Graded {len(graded)} design(s){unreadable} from {students} student(s) against {exercise.title!r}: {args.output}")
    counted = counted_submissions([g.submission for g in graded])
    several = len({g.submission.key for g, (_counts, others) in zip(graded, counted) if others})
    if several:
        print(_("{count} student(s) handed in several files: the newest counts "
                "(column counted; the others are in other_files).").format(count=several))
    if counts["checker error"]:
        print(f"error: the checker failed on {counts['checker error']} design(s); see the status and problem columns", file=sys.stderr)
        return EXIT_INCOMPLETE
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    from engine.exercises import load_exercise
    from engine.grading import validate_exercise

    exercise = load_exercise(args.exercise)
    wrong = Path(args.wrong) if args.wrong else None
    if wrong is not None and not wrong.is_dir():
        raise _UsageError(f"{wrong}: not a folder")
    report = validate_exercise(exercise, wrong, mutants=args.mutants)
    print(f"{exercise.title}: {args.exercise}")
    for line in report.lines:
        print(f"  {line}")
    print("The exercise is valid." if report.ok else "The exercise is NOT valid: see FAIL above.")
    return EXIT_OK if report.ok else EXIT_INVALID


def _reference_design(path: str):  # noqa: ANN202
    """The reference solution: a project file, or an exercise file (its ``solution``)."""
    from engine.exercises import FORMAT, load_exercise
    from engine.project import read_json_file

    doc = read_json_file(path)
    if isinstance(doc, dict) and doc.get("format") == FORMAT:
        solution = load_exercise(path).solution_path()
        if solution is None or not solution.is_file():
            problem = _("{exercise}: the exercise's reference solution {solution} does not exist")
            raise _UsageError(problem.format(exercise=path, solution=solution))
        path = str(solution)
    graph, _title = load_any(path)
    return graph


def _similar(args: argparse.Namespace) -> int:
    from engine.grading import scan_class
    from engine.similar import Fingerprint, compare_designs, fingerprint, fingerprint_files

    folder = Path(args.folder)
    if not folder.is_dir():
        raise _UsageError(f"{folder}: not a folder")
    if not 0 <= args.threshold <= 1:
        raise _UsageError("--threshold must be between 0 and 1")
    reference = fingerprint(_reference_design(args.reference)) if args.reference else None
    submissions = scan_class(folder).submissions
    if not submissions:
        raise _UsageError(f"{folder}: no .json designs found (searched every folder under it)")
    read, fingerprints, unreadable = [], [], []
    for submission, result in zip(submissions, fingerprint_files([str(s.path) for s in submissions])):
        if isinstance(result, Fingerprint):
            read.append(submission)
            fingerprints.append(result)
        else:
            unreadable.append((submission.relative, result))
    found = compare_designs(fingerprints, args.threshold, reference)
    if args.json:
        print(json.dumps({
            "identical": [[read[i].relative for i in group] for group in found.identical],
            "same_as_reference": [read[i].relative for i in sorted(found.same_as_reference)],
            "near": [_pair_json(p, read) for p in found.pairs],
            "unreadable": [{"file": f, "problem": p} for f, p in unreadable],
        }))
        return EXIT_OK
    print(f"{len(read)} design(s) read" + (f", {len(unreadable)} unreadable" if unreadable else "") + ".")
    if found.identical:
        print("Identical up to names and positions:")
    else:
        print("No two designs are identical up to names and positions.")
    for group in found.identical:
        same = " " + _("(the same as the reference solution)") if group[0] in found.same_as_reference else ""
        print("  " + ", ".join(f"{read[i].student} ({read[i].relative})" for i in group) + same)
    if not found.pairs:
        print(_("No other pair reaches similarity {threshold:g}.").format(threshold=args.threshold))
    elif reference is None:
        print(_("Near-duplicates (similarity at least {threshold:g}), the most similar first:").format(
            threshold=args.threshold))
    else:
        print(_("Near-duplicates (similarity at least {threshold:g}), the pairs closer to each other than to the "
                "reference first (beyond: how much more they share with each other than with the reference; near or "
                "below 0 is two designs that both came close to the solution):").format(threshold=args.threshold))
    line = _("{similarity:.2f}  beyond {beyond:+.2f}  {a} ({a_far:.2f} from the reference)  "
             "{b} ({b_far:.2f} from the reference)")
    for p in found.pairs:
        a, b = read[p.a].relative, read[p.b].relative
        if p.beyond_reference is None:
            print(f"  {p.similarity:.2f}  {a}  {b}")
        else:
            print("  " + line.format(similarity=p.similarity, beyond=p.beyond_reference, a=a, a_far=p.a_from_reference,
                                     b=b, b_far=p.b_from_reference))
    return EXIT_OK


def _pair_json(pair, read) -> dict:  # noqa: ANN001
    """One near-duplicate pair as ``similar --json`` prints it."""
    out = {"a": read[pair.a].relative, "b": read[pair.b].relative, "similarity": round(pair.similarity, 4)}
    if pair.beyond_reference is not None:
        out.update(a_from_reference=round(pair.a_from_reference, 4), b_from_reference=round(pair.b_from_reference, 4),
                   beyond_reference=round(pair.beyond_reference, 4))
    return out


def _diff(args: argparse.Namespace) -> int:
    from engine.diff import diff_graphs, diff_text

    a, _title_a = load_any(args.a)
    b, _title_b = load_any(args.b)
    d = diff_graphs(a, b)
    if args.json:
        print(json.dumps(d))
    else:
        print(diff_text(d, Path(args.a).name, Path(args.b).name))
    return EXIT_OK if d["same"] else EXIT_INVALID


class _UsageError(ValueError):
    pass


def main(argv: Sequence[str] | None = None) -> int:
    from engine.codegen import CodegenError
    from engine.datasets import DatasetError
    from engine.export.formats import ExportError
    from engine.export.keras_model import WeightsError
    from engine.export.torch_code import TorchExportError
    from engine.keras_import import KerasImportError
    from engine.project import FileRefused, ProjectError
    from engine.training import TrainingError

    args = _parser().parse_args(argv)
    handlers = {"summary": _summary, "import": _import, "export": _export, "train": _train, "check": _check, "grade": _grade,
                "validate": _validate, "similar": _similar, "diff": _diff}
    try:
        return handlers[args.command](args)
    except TrainingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE if exc.bad_input else EXIT_INVALID
    except (ProjectError, KerasImportError, CodegenError, DatasetError, _UsageError, FileRefused, ExportError, WeightsError,
            TorchExportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except BrokenPipeError:  # piped into head: stop quietly
        sys.stderr.close()
        return EXIT_OK
    except OSError as exc:
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_UNREADABLE
