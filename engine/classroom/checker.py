"""Checking a design against an exercise: one result per criterion, each a sentence a student understands.

Every design must also be valid (no errors): that is checked first, as criterion ``valid``. A criterion
whose number is unknown because of an error is *not checked* ("fix the error in conv3 first"), not a
second mistake. Each failed criterion names the layer, the numbers and the fix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from engine.i18n import _
from engine.i18n import ngettext
from typing import Any

import networkx as nx

from engine.analysis import Analysis, analyse
from engine.classroom.exercise import _AXES, CriterionResult, Exercise, _axis_word, merge_layer
from engine.classroom.matching import LayerUse, layer_pattern, layer_uses, matches, mismatch
from engine.graph import NetworkGraph
from engine.layers import CATALOGUE, fmt_int, fmt_shape
from engine.teaching import Teaching, explain

__all__ = ["DesignNumbers", "check_design", "design_numbers", "right_answers", "train_check", "training_verdict"]


# ------------------------------------------------------------------------------------------------
# Measuring a design


def _depth(graph: NetworkGraph) -> int | None:
    """Layers on the longest path (Inputs excluded); None when the design has a cycle."""
    g = graph.nx_graph
    if not nx.is_directed_acyclic_graph(g):
        return None
    depth: dict[str, int] = {}
    for n in nx.topological_sort(g):
        depth[n] = (0 if g.nodes[n]["type"] == "Input" else 1) + max((depth[p] for p in g.predecessors(n)), default=0)
    return max(depth.values(), default=0)


def _receptive_field(teaching: Teaching | None) -> tuple[int, ...] | None:
    """The largest receptive field any layer reaches, per spatial axis (of the layers with the most axes)."""
    if teaching is None:
        return None
    fields = [n.receptive_field for n in teaching.notes.values() if n.receptive_field]
    if not fields:
        return None
    rank = max(len(f) for f in fields)
    return tuple(max(f[i] for f in fields if len(f) == rank) for i in range(rank))


@dataclass
class DesignNumbers:
    """What a teacher's report lists for one design (None where an error leaves a number unknown)."""

    params: int | None
    flops: int | None
    receptive_field: tuple[int, ...] | None
    depth: int | None
    teaching: Teaching | None = field(default=None, repr=False)

    @property
    def receptive_field_text(self) -> str:
        return "x".join(map(str, self.receptive_field)) if self.receptive_field else ""


def design_numbers(graph: NetworkGraph, analysis: Analysis, teaching: Teaching | None = None) -> DesignNumbers:
    """The design's numbers; ``teaching`` (the notes of this very analysis) saves computing them again."""
    teaching = (teaching or explain(graph, analysis)) if analysis.is_valid else None
    return DesignNumbers(
        analysis.total_params if analysis.totals_complete else None,
        teaching.total_flops if teaching else None,
        _receptive_field(teaching),
        _depth(graph),
        teaching,
    )


# ------------------------------------------------------------------------------------------------
# Structure


def _distinct_inputs(graph: NetworkGraph, node_id: str) -> list[tuple[str, int]]:
    """The distinct tensors a layer receives (the same tensor wired twice counts once)."""
    return list(dict.fromkeys((e.source, e.output) for e in graph.inputs_of(node_id) if not e.is_mask))


def _is_bypass(graph: NetworkGraph, node_id: str, max_shortcut: int = 2) -> bool:
    """A merge that joins a block's output with a shortcut around the block: a real skip connection.

    The shortcut is one input's tensor itself (identity) or a chain of at most ``max_shortcut`` one-input
    layers (a 1x1 projection and its normalisation) leading back to a layer F, and F lies on a path to
    another input that is longer than the shortcut. Two equal branches from one input are not a bypass,
    nor is the same tensor wired twice."""
    g = graph.nx_graph
    sources = list(dict.fromkeys(s for s, _output in _distinct_inputs(graph, node_id)))
    for a in sources:
        chain, steps = a, 0
        while True:
            for b in sources:
                if b != a and chain != b and nx.has_path(g, chain, b) and nx.shortest_path_length(g, chain, b) > steps:
                    return True
            ins = [e for e in graph.inputs_of(chain) if not e.is_mask]
            if steps >= max_shortcut or len(ins) != 1:
                break
            chain, steps = ins[0].source, steps + 1
    return False


def _number_text(value: float) -> str:
    return fmt_int(int(value)) if float(value).is_integer() else f"{value:g}"


def _pooling_for(rank: int) -> str:
    """The global pooling that turns an output of ``rank`` axes (channels last) into one vector."""
    axes = rank - 1 if 2 <= rank <= 4 else 2
    return next(t for t, spec in CATALOGUE.items() if spec.global_pool == ("average", axes))


@dataclass(frozen=True)
class _Merges:
    """The merge layers of one type, split by whether they fit a criterion."""

    good: list[str]
    other: list[str]


class _Checker:
    """Checks one design; each ``c_<type>`` method returns ``(status, message)``."""

    def __init__(
        self,
        exercise: Exercise,
        graph: NetworkGraph,
        answers: Mapping[str, Any],
        analysis: Analysis,
        train: bool,
        trained: list[dict[str, Any]],
        numbers: DesignNumbers,
        answer_problems: Mapping[str, str],
    ) -> None:
        self.exercise, self.graph, self.answers, self.analysis = exercise, graph, answers, analysis
        self.train, self.trained, self.numbers, self.answer_problems = train, trained, numbers, answer_problems
        self._uses: list[LayerUse] | None = None

    @property
    def uses(self) -> list[LayerUse]:
        if self._uses is None:
            self._uses = layer_uses(self.graph)
        return self._uses

    def _name(self, node_id: str) -> str:
        return self.graph.node(node_id).name

    # -- what blocks a number ------------------------------------------------------------------

    def _first_error(self, upstream_of: str | None = None) -> str:
        """``Not checked: fix the error in conv3 first.`` for the first error (upstream of a layer, if given)."""
        errors = [d for d in self.analysis.errors if d.node is not None]
        if upstream_of is not None:
            above = nx.ancestors(self.graph.nx_graph, upstream_of) | {upstream_of}
            errors = [d for d in errors if d.node in above] or errors
        if not errors:
            first = self.analysis.errors[0] if self.analysis.errors else None
            if first is None:
                return _("Not checked.")
            return _("Not checked: fix the design's error first ({problem}).").format(problem=first.message)
        order = {n: i for i, n in enumerate(self.analysis.order)}
        first = min(errors, key=lambda d: order.get(d.node, 0))  # type: ignore[arg-type]
        return _("Not checked: fix the error in {layer} first.").format(layer=self._name(first.node))  # type: ignore[arg-type]

    # -- shapes --------------------------------------------------------------------------------

    def c_input_shape(self, s: Mapping[str, Any]) -> tuple[str, str]:
        nodes, want = self.analysis.input_nodes, tuple(s["shape"])
        if len(nodes) != 1:
            names = ", ".join(self._name(n) for n in nodes)
            return "failed", ngettext(
                "The design has {count} input ({names}); the exercise wants one input of shape {shape}.",
                "The design has {count} inputs ({names}); the exercise wants one input of shape {shape}.",
                len(nodes),
            ).format(count=len(nodes), names=names or "-", shape=fmt_shape(want))
        shape = self.analysis[nodes[0]].shape
        if shape is None:
            return "not checked", self._first_error(nodes[0])
        if shape == want:
            return "passed", _("The input is {shape}.").format(shape=fmt_shape(want))
        return "failed", _("The input {layer} is {got}, but it should be {want}: set its shape to {want}.").format(
            layer=self._name(nodes[0]), got=fmt_shape(shape), want=fmt_shape(want)
        )

    def c_output_shape(self, s: Mapping[str, Any]) -> tuple[str, str]:
        nodes, want = self.analysis.output_nodes, tuple(s["shape"])
        if len(nodes) != 1:
            return "failed", self._outputs_message(nodes, want)
        node = nodes[0]
        shape = self.analysis[node].shape
        if shape is None:
            return "not checked", self._first_error(node)
        if shape == want:
            return "passed", _("The output is {shape}.").format(shape=fmt_shape(want))
        layer, got = self._name(node), fmt_shape(shape)
        values = {"layer": layer, "got": got, "want": fmt_shape(want)}
        if len(shape) > len(want) and len(want) == 1:
            pooling = _pooling_for(len(shape))
            return "failed", _(
                "{layer} outputs {got}, but the output should be {want}: the network still has spatial axes. "
                "Put Flatten or {pooling} before the last Dense layer, so that it receives one vector per sample."
            ).format(pooling=pooling, **values)
        spec = self.graph.node(node).spec
        if (
            len(shape) == len(want)
            and shape[:-1] == want[:-1]
            and any(p.name in ("units", "filters") for p in spec.params)
        ):
            setting = "units" if any(p.name == "units" for p in spec.params) else "filters"
            return "failed", _(
                "{layer} outputs {got}, but the output should be {want}: set {setting}={size} on {layer}."
            ).format(setting=setting, size=want[-1], **values)
        return "failed", _("{layer} outputs {got}, but the output should be {want}.").format(**values)

    def _outputs_message(self, nodes: list[str], want: tuple[Any, ...]) -> str:
        if not nodes:
            return _("The design has no output layer; the exercise wants one output of shape {shape}.").format(
                shape=fmt_shape(want)
            )
        names = ", ".join(self._name(n) for n in nodes)
        fits = [n for n in nodes if self.analysis[n].shape == want]
        # The main output is the one of the wanted shape, else the deepest; the others lead nowhere.
        order = {n: i for i, n in enumerate(self.analysis.order)}
        main = fits[0] if len(fits) == 1 else max(nodes, key=lambda n: order.get(n, 0))
        loose = [self._name(n) for n in nodes if n != main]
        return ngettext(
            "The design has {count} outputs ({names}); the exercise wants one, of shape {shape}. "
            "Nothing uses the result of {loose}: wire it into the rest of the network, or delete it.",
            "The design has {count} outputs ({names}); the exercise wants one, of shape {shape}. "
            "Nothing uses the results of {loose}: wire them into the rest of the network, or delete them.",
            len(loose),
        ).format(count=len(nodes), names=names, shape=fmt_shape(want), loose=", ".join(loose))

    def c_layer_shape(self, s: Mapping[str, Any]) -> tuple[str, str]:
        node = self.graph.find(s["layer"])
        want = fmt_shape(tuple(s["shape"]))
        if node is None:
            return "failed", _(
                "The design has no layer called {layer}; the exercise asks for one that outputs {shape}. "
                "Name the layer {layer}."
            ).format(layer=s["layer"], shape=want)
        shape = self.analysis[node].shape
        if shape is None:
            return "not checked", self._first_error(node)
        if shape == tuple(s["shape"]):
            return "passed", _("{layer} outputs {shape}.").format(layer=s["layer"], shape=want)
        return "failed", _("{layer} outputs {got}, but it should output {want}.").format(
            layer=s["layer"], got=fmt_shape(shape), want=want
        )

    # -- numbers -------------------------------------------------------------------------------

    def c_max_params(self, s: Mapping[str, Any]) -> tuple[str, str]:
        return self._bounded(self.numbers.params, s["value"], "max_params")

    def c_min_params(self, s: Mapping[str, Any]) -> tuple[str, str]:
        return self._bounded(self.numbers.params, s["value"], "min_params")

    def c_max_flops(self, s: Mapping[str, Any]) -> tuple[str, str]:
        return self._bounded(self.numbers.flops, s["value"], "max_flops")

    def c_max_depth(self, s: Mapping[str, Any]) -> tuple[str, str]:
        return self._bounded(self.numbers.depth, s["value"], "max_depth")

    def c_min_depth(self, s: Mapping[str, Any]) -> tuple[str, str]:
        return self._bounded(self.numbers.depth, s["value"], "min_depth")

    def _bounded(self, value: int | None, bound: float, kind: str) -> tuple[str, str]:
        """Compare a number of the design with a bound; unknown numbers are not checked."""
        if value is None:
            return "not checked", self._first_error()
        at_most = kind.startswith("max")
        values = {"value": fmt_int(value), "bound": fmt_int(int(bound))}
        if (value <= bound) if at_most else (value >= bound):
            return "passed", {
                "max_params": _("The design has {value} parameters."),
                "min_params": _("The design has {value} parameters."),
                "max_flops": _("The design needs {value} multiply-adds per sample."),
                "max_depth": _("The longest path has {value} layers."),
                "min_depth": _("The longest path has {value} layers."),
            }[kind].format(**values)
        if kind == "max_params":
            return "failed", _(
                "The design has {value} parameters; it should have at most {bound}. "
                "{biggest} holds the most ({most}): make it smaller, or use fewer filters or units."
            ).format(**values, **self._biggest())
        return "failed", {
            "min_params": _("The design has {value} parameters; it should have at least {bound}."),
            "max_flops": _("The design needs {value} multiply-adds per sample; the limit is {bound}."),
            "max_depth": _("The longest path has {value} layers; it should have at most {bound}."),
            "min_depth": _("The longest path has {value} layers; it should have at least {bound}."),
        }[kind].format(**values)

    def _biggest(self) -> dict[str, str]:
        counts = [(r.params.total, n) for n, r in self.analysis.results.items() if r.params is not None]
        total, node = max(counts, default=(0, ""))
        return {"biggest": self._name(node) if node else "-", "most": fmt_int(total)}

    # -- layers --------------------------------------------------------------------------------

    def c_requires_layer(self, s: Mapping[str, Any]) -> tuple[str, str]:
        layer, params = s["layer"], s.get("params")
        found = [u for u in self.uses if matches(u, layer, params)]
        count, lo, hi = len(found), s.get("min", 1), s.get("max")
        pattern = layer_pattern(layer, params)
        has = ngettext(
            "The design has {count} {pattern} layer.", "The design has {count} {pattern} layers.", count
        ).format(count=count, pattern=pattern)
        wrapped = [u for u in found if u.wrapper is not None]
        if wrapped:
            has += " " + ngettext(
                "{inside} of them is inside a wrapper ({names}).",
                "{inside} of them are inside wrappers ({names}).",
                len(wrapped),
            ).format(inside=len(wrapped), names=", ".join(u.name for u in wrapped[:5]))
        if count >= lo and (hi is None or count <= hi):
            return "passed", has
        if hi is not None and count > hi:
            names = ", ".join(u.where for u in found[:6])
            return "failed", has + " " + _("The exercise allows at most {max} ({names}): remove some.").format(
                max=hi, names=names
            )
        need = ngettext("The exercise asks for at least {min}.", "The exercise asks for at least {min}.", lo).format(
            min=lo
        )
        if hi == lo:
            need = _("The exercise asks for exactly {min}.").format(min=lo)
        elif hi is not None:
            need = _("The exercise asks for {min} to {max}.").format(min=lo, max=hi)
        message = f"{has} {need}"
        near = [
            m
            for m in (mismatch(u, params or {}) for u in self.uses if u.type == layer and u not in found)
            if m is not None
        ]
        if near:
            message += " " + near[0].sentence()
            if len(near) > 1:
                message += " " + ngettext(
                    "{more} other {layer} layer differs too.", "{more} other {layer} layers differ too.", len(near) - 1
                ).format(more=len(near) - 1, layer=layer)
        return "failed", message

    def c_forbids_layer(self, s: Mapping[str, Any]) -> tuple[str, str]:
        layer, params = s["layer"], s.get("params")
        hits = [u for u in self.uses if matches(u, layer, params)]
        pattern = layer_pattern(layer, params)
        if not hits:
            return "passed", _("No {pattern} layers are used.").format(pattern=pattern)
        names = ", ".join(u.where for u in hits[:5]) + (", ..." if len(hits) > 5 else "")
        return "failed", ngettext(
            "The design uses {count} {pattern} layer ({names}), which this exercise does not allow: "
            "replace it or remove it.",
            "The design uses {count} {pattern} layers ({names}), which this exercise does not allow: "
            "replace them or remove them.",
            len(hits),
        ).format(count=len(hits), pattern=pattern, names=names)

    # -- merges --------------------------------------------------------------------------------

    def _merges(
        self, layer: str, *, lo: int = 2, hi: int | None = None, axis: int | None = None, bypass: int | None = None
    ) -> _Merges:
        good: list[str] = []
        other: list[str] = []
        for n in self.graph.node_ids():
            if self.graph.node(n).type != layer:
                continue
            distinct = len(_distinct_inputs(self.graph, n))
            fits = distinct >= lo and (hi is None or distinct <= hi)
            fits = fits and (axis is None or self.graph.params_of(n).get("axis") == axis)
            fits = fits and (bypass is None or _is_bypass(self.graph, n, bypass))
            (good if fits else other).append(n)
        return _Merges(good, other)

    def _merge_result(self, merges: _Merges, need: int, why_not: Any, missing: str, passed: str) -> tuple[str, str]:
        """Passed (``passed`` names the first working merge) when ``need`` fitting merges work; else the first
        near miss and its fix (``why_not(node)``).

        A near miss that has an error of its own is *not checked*: the error is counted once, under ``valid``,
        and the sentence says what else must change."""
        working = [n for n in merges.good if self.analysis[n].status == "ok"]
        if len(working) >= need:
            first = working[0]
            return "passed", passed.format(
                layer=self._name(first),
                type=self.graph.node(first).type,
                count=len(_distinct_inputs(self.graph, first)),
            )
        if len(merges.good) >= need:
            return "not checked", self._first_error(next(n for n in merges.good if self.analysis[n].status != "ok"))
        if not merges.other:
            return "failed", missing
        node = merges.other[0]
        reason = why_not(node)
        if self.analysis[node].status == "error":
            return "not checked", _("Not checked: fix the error in {layer} first.").format(
                layer=self._name(node)
            ) + " " + reason
        return "failed", reason

    def _same_tensor(self, node: str) -> str:
        inputs = [e for e in self.graph.inputs_of(node) if not e.is_mask]
        distinct = len(_distinct_inputs(self.graph, node))
        if distinct < len(inputs):
            return _("{layer} takes the same tensor {times} times: wire each input to a different branch.").format(
                layer=self._name(node), times=len(inputs) - distinct + 1
            )
        return ""

    def c_merge(self, s: Mapping[str, Any]) -> tuple[str, str]:
        layer, lo, hi, axis = s["layer"], s.get("min_inputs", 2), s.get("max_inputs"), s.get("axis")
        merges = self._merges(layer, lo=lo, hi=hi, axis=axis)
        if hi == lo:
            want = _("exactly {min}").format(min=lo)
        elif hi is not None:
            want = _("{min} to {max}").format(min=lo, max=hi)
        else:
            want = _("at least {min}").format(min=lo)

        def why_not(node: str) -> str:
            name = self._name(node)
            distinct = len(_distinct_inputs(self.graph, node))
            parts = []
            if distinct < lo or (hi is not None and distinct > hi):
                parts.append(
                    self._same_tensor(node)
                    or _("{layer} ({type}) joins {count} branches; the exercise asks for {want}.").format(
                        layer=name, type=layer, count=distinct, want=want
                    )
                )
            got_axis = self.graph.params_of(node).get("axis")
            if axis is not None and got_axis != axis:
                parts.append(
                    _(
                        "{layer} ({type}) joins along axis {got}; the exercise asks for axis {want}: "
                        "set axis={want} on {layer}."
                    ).format(layer=name, type=layer, got=got_axis, want=axis)
                )
            return " ".join(parts)

        missing = _("The design has no {layer} layer. Join {want} parallel branches with {layer}.").format(
            layer=layer, want=want
        )
        return self._merge_result(
            merges, s.get("min", 1), why_not, missing, _("{layer} ({type}) joins {count} branches.")
        )

    def c_skip_connection(self, s: Mapping[str, Any]) -> tuple[str, str]:
        layer = s.get("layer", merge_layer("sum"))
        merges = self._merges(layer, bypass=s.get("max_shortcut_layers", 2))
        advice = _("Send a block's input both through the block and around it, and join the two with {layer}.").format(
            layer=layer
        )

        def why_not(node: str) -> str:
            distinct = len(_distinct_inputs(self.graph, node))
            wires = len([e for e in self.graph.inputs_of(node) if not e.is_mask])
            if distinct < wires:
                return (
                    _("{layer} takes the same tensor {times} times, so it is not a skip connection.").format(
                        layer=self._name(node), times=wires - distinct + 1
                    )
                    + " "
                    + advice
                )
            if distinct >= 2:
                return (
                    _(
                        "{layer} ({type}) joins {count} parallel branches, but none of them goes around the other."
                    ).format(layer=self._name(node), type=layer, count=distinct)
                    + " "
                    + advice
                )
            return (
                _("{layer} ({type}) has only one input, so nothing goes around a block.").format(
                    layer=self._name(node), type=layer
                )
                + " "
                + advice
            )

        missing = _("The design has no {layer} layer, so it has no skip connection.").format(layer=layer) + " " + advice
        return self._merge_result(
            merges,
            s.get("min", 1),
            why_not,
            missing,
            _("{layer} ({type}) joins {count} branches as a skip connection."),
        )

    def c_concatenation(self, s: Mapping[str, Any]) -> tuple[str, str]:
        layer = merge_layer("concat")
        merges = self._merges(layer)

        def why_not(node: str) -> str:
            return self._same_tensor(node) or _(
                "{layer} ({type}) has only one input: join two or more parallel branches with it."
            ).format(layer=self._name(node), type=layer)

        missing = _("The design has no {layer} layer. Join parallel branches with {layer}.").format(layer=layer)
        return self._merge_result(
            merges, s.get("min", 1), why_not, missing, _("{layer} ({type}) joins {count} branches.")
        )

    # -- receptive field -----------------------------------------------------------------------

    def c_min_receptive_field(self, s: Mapping[str, Any]) -> tuple[str, str]:
        if not self.analysis.is_valid:
            return "not checked", self._first_error()
        rf = self.numbers.receptive_field
        want = s["value"]
        if rf is None:
            return "failed", _(
                "The design has no layer with spatial axes, so it has no receptive field: "
                "start from an image or a sequence."
            )
        names = _AXES[3 - len(rf) :] if len(rf) <= 3 else tuple(f"axis {i + 1}" for i in range(len(rf)))
        size = "x".join(map(str, rf))
        if "axis" in s:
            name = _axis_word(s["axis"])
            if name not in names:
                return "failed", _("The receptive field is {size} pixels; it has no {axis} axis.").format(
                    size=size, axis=name
                )
            got = rf[names.index(name)]
            if got >= want:
                return "passed", _("The receptive field reaches {got} pixels in {axis} ({size}).").format(
                    got=got, axis=name, size=size
                )
            return "failed", _(
                "The receptive field reaches {got} pixels in {axis} ({size}); it should reach {want:g}. "
                "Stack more, larger or strided convolutions."
            ).format(got=got, axis=name, size=size, want=want)
        short = [f"{n} {v}" for n, v in zip(names, rf) if v < want]
        if not short:
            return "passed", _("The largest receptive field is {size} pixels.").format(size=size)
        return "failed", _(
            "The largest receptive field is {size} pixels: {short} is below {want:g} (every axis must reach it). "
            "Stack more, larger or strided convolutions along it."
        ).format(size=size, short=", ".join(short), want=want)

    # -- questions -----------------------------------------------------------------------------

    def c_question(self, s: Mapping[str, Any], cid: str) -> tuple[str, str]:
        answer = s["answer"]
        given = self.answers.get(cid)
        unreadable = self.answer_problems.get(cid) or self.answer_problems.get("*")
        layer = answer.get("params_of")
        expected: float | None = answer.get("value")
        node: str | None = None
        if layer is not None:
            node = self.graph.find(layer)
            if node is None:
                return "failed", _(
                    "The design has no layer called {layer}, so the answer cannot be checked: name the layer {layer}."
                ).format(layer=layer)
            count = self.analysis[node].params
            if count is None:
                return "not checked", self._first_error(node)
            expected = count.total
        assert expected is not None
        if given is None and unreadable:
            return "failed", _("Not answered: {problem}.").format(problem=unreadable)
        if given is None or (isinstance(given, str) and not given.strip()):
            return "failed", _("Not answered yet.")
        try:
            value = float(str(given).replace(",", "").replace("_", "").strip())
        except ValueError:
            return "failed", _("{given!r} is not a number.").format(given=str(given)[:40])
        if math.isfinite(value) and abs(value - expected) <= s.get("tolerance", 0):
            return "passed", _("Correct: {answer}.").format(answer=_number_text(expected))
        shown = _number_text(value) if math.isfinite(value) else str(given)[:40]
        if node is not None:
            return "failed", self._count_mistake(node, value, shown)
        return "failed", _("{given} is not right. Check your working, and try again.").format(given=shown)

    def _count_mistake(self, node: str, value: float, shown: str) -> str:
        """What a wrong parameter count most likely left out (biases, input channels, a direction), or a plain retry."""
        name, spec = self._name(node), self.graph.node(node).spec
        result = self.analysis[node]
        params = self.graph.params_of(node)
        total = result.params.total  # type: ignore[union-attr]
        ins = [t.shape for t in result.inputs if t is not None]
        out = result.shape

        def count(p: Mapping[str, Any], shapes: list[Any]) -> int | None:
            try:
                c = spec.count_rule(p, shapes, out)  # type: ignore[arg-type]
            except Exception:  # noqa: BLE001 - a variant the rule refuses is simply not a likely mistake
                return None
            return c.trainable + c.non_trainable

        if params.get("use_bias") is True and count({**params, "use_bias": False}, ins) == value:
            return _(
                "{given} is {layer}'s count without its {biases} biases: "
                "a {type} layer has one bias per filter or unit. "
                "Add them, and try again."
            ).format(given=shown, layer=name, biases=fmt_int(total - int(value)), type=spec.type)
        if ins and ins[0] and ins[0][-1] not in (None, 1) and count(params, [ins[0][:-1] + (1,), *ins[1:]]) == value:
            return _(
                "{given} is what {layer} would have with one input channel, but it receives {channels}: "
                "each filter or unit has weights for every channel coming in. Try again."
            ).format(given=shown, layer=name, channels=fmt_int(ins[0][-1]))
        if spec.wrapped_copies == 2 and value * 2 == total:
            return _(
                "{given} counts one direction of {layer}; "
                "a Bidirectional layer holds two copies of the layer it wraps. "
                "Try again."
            ).format(given=shown, layer=name)
        if result.params is not None and result.params.non_trainable and value == result.params.trainable:
            return _(
                "{given} counts only the trainable weights of {layer}; the parameter count also includes its {frozen} "
                "non-trainable ones. Try again."
            ).format(given=shown, layer=name, frozen=fmt_int(result.params.non_trainable))
        return _(
            "{given} is not right. Work out {layer}'s weights from how a {type} layer counts them, and try again."
        ).format(given=shown, layer=name, type=spec.type)

    # -- training ------------------------------------------------------------------------------

    def c_training(self, s: Mapping[str, Any]) -> tuple[str, str]:
        target = s["min_val_accuracy"]
        run = next((r for r in self.trained if r.get("dataset") == s["dataset"]), None)
        if run is not None:
            if run.get("error"):
                return "failed", _("Training failed: {problem}").format(problem=run["error"])
            accuracy = run.get("val_accuracy") or 0.0
            values = {
                "accuracy": 100 * accuracy,
                "target": 100 * target,
                "epochs": run.get("epochs_run"),
                "where": run.get("where", _("in your last training run")),
            }
            if accuracy >= target:
                return "passed", _("Validation accuracy {accuracy:.1f}% {where} ({epochs} epochs).").format(**values)
            return "failed", _(
                "Validation accuracy {accuracy:.1f}% {where} ({epochs} epochs), below the {target:.0f}% target."
            ).format(**values)
        if not self.analysis.is_valid:
            return "not checked", self._first_error()
        if not self.train:
            return "not run", _("Training was not run (use check --train, or Train in the editor).")
        return train_check(self.graph, s)


def check_design(
    exercise: Exercise,
    graph: NetworkGraph,
    answers: Mapping[str, Any] | None = None,
    analysis: Analysis | None = None,
    train: bool = False,
    trained: dict[str, Any] | list[dict[str, Any]] | None = None,
    numbers: DesignNumbers | None = None,
    answer_problems: Mapping[str, str] | None = None,
) -> list[CriterionResult]:
    """Check ``graph`` against every criterion; each result carries a sentence a student understands.

    ``trained`` is the result of training runs already made on this very design (each ``{"dataset",
    "epochs_run", "val_accuracy"}`` or ``{"dataset", "error"}``, from the editor or from ``grade --train``);
    training criteria use them instead of training again. ``answer_problems`` says why answers the
    project file held could not be read (`engine.project` keeps the rest).
    """
    analysis = analysis or analyse(graph)
    numbers = numbers or design_numbers(graph, analysis)
    runs = [] if trained is None else ([trained] if isinstance(trained, dict) else list(trained))
    checker = _Checker(exercise, graph, answers or {}, analysis, train, runs, numbers, answer_problems or {})
    label = _("The design has no errors")
    if analysis.is_valid:
        results = [
            CriterionResult(
                "valid", label, "passed", _("The design has no errors."), exercise.valid_points, exercise.valid_points
            )
        ]
    else:
        first = analysis.errors[0]
        message = f"{graph.node(first.node).name}: {first.message}" if first.node else first.message
        if len(analysis.errors) > 1:
            message += " " + ngettext(
                "(The design has {more} more error.)", "(The design has {more} more errors.)", len(analysis.errors) - 1
            ).format(more=len(analysis.errors) - 1)
        results = [CriterionResult("valid", label, "failed", message, 0.0, exercise.valid_points, first.hint)]
    for c in exercise.criteria:
        method = getattr(checker, f"c_{c.type}")
        status, message = method(c.spec, c.id) if c.type == "question" else method(c.spec)
        hint = c.hint if status == "failed" else ""
        results.append(
            CriterionResult(
                c.id, c.label, status, message, c.points if status == "passed" else 0.0, c.points, hint, c.hidden
            )
        )
    return results


def right_answers(exercise: Exercise, graph: NetworkGraph, analysis: Analysis | None = None) -> dict[str, Any]:
    """The right answer to each question on ``graph`` (a reference solution's, or a generated mutant's own)."""
    analysis = analysis or analyse(graph)
    answers: dict[str, Any] = {}
    for c in exercise.criteria:
        if c.type != "question":
            continue
        layer = c.spec["answer"].get("params_of")
        if layer is None:
            answers[c.id] = c.spec["answer"]["value"]
            continue
        node = graph.find(layer)
        count = analysis[node].params if node is not None else None
        if count is not None:
            answers[c.id] = count.total
    return answers


def train_check(graph: NetworkGraph, spec: Mapping[str, Any]) -> tuple[str, str]:
    """Train ``graph`` as a training criterion asks, in this process."""
    from engine.datasets import DatasetError, image_shape_for, resolve
    from engine.training import TrainConfig, TrainingError, run_training

    try:
        dataset = resolve(spec["dataset"], "", image_shape_for(graph))
        result = run_training(graph, TrainConfig(dataset, epochs=int(spec.get("epochs", 10))), lambda m: None)
    except (TrainingError, DatasetError) as exc:
        return "failed", _("Training failed: {problem}").format(problem=exc)
    return training_verdict(result.get("val_accuracy"), spec["min_val_accuracy"])


def training_verdict(accuracy: float | None, target: float) -> tuple[str, str]:
    accuracy = accuracy or 0.0
    if accuracy >= target:
        return "passed", _("Validation accuracy {accuracy:.1f}%.").format(accuracy=100 * accuracy)
    return "failed", _("Validation accuracy {accuracy:.1f}%, below the {target:.0f}% target.").format(
        accuracy=100 * accuracy, target=100 * target
    )
