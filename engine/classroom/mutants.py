"""Known-wrong designs generated from a reference solution: the mistakes students typically make.

Mutation testing for exercises: each `Mutant` is the reference with one mistake (a branch dropped, a
skip connection removed, padding, strides, kernel size or filters changed, a bias removed, an activation
swapped, a layer deleted, a wire around a layer). `check_mutants` grades each against the exercise; a
mutant that passes every criterion is one the exercise cannot tell from the solution.

Mutations that cannot change anything are not generated (the padding of a 1x1 convolution with stride 1).
Questions are answered correctly for each mutant (a student answers about their own design), so a question
never catches a structural mistake by accident; training criteria are not run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from engine.i18n import _
from typing import Any

from engine.analysis import analyse
from engine.classroom.checker import _distinct_inputs, _is_bypass, check_design, right_answers
from engine.classroom.exercise import CriterionResult, Exercise
from engine.classroom.matching import value_text
from engine.graph import GraphError, NetworkGraph
from engine.layers import ParamError

__all__ = ["MUTATIONS", "Mutant", "MutantResult", "check_mutants", "mutants"]

#: The kinds of mistake, in the order they are generated.
MUTATIONS = (
    "drop_branch",
    "remove_skip",
    "padding",
    "strides",
    "kernel_size",
    "filters",
    "bias",
    "activation",
    "delete_layer",
    "wire_around",
)

#: At most this many mutants of one kind (the first layers in the design's order): enough to see a pattern.
MAX_PER_KIND = 40

_SWAP = {"relu": "sigmoid", "sigmoid": "relu", "softmax": "sigmoid", "tanh": "relu", "linear": "relu", None: "relu"}


@dataclass
class Mutant:
    kind: str
    #: One sentence: what was changed, naming the layer and the values.
    description: str
    graph: NetworkGraph = field(repr=False)


@dataclass
class MutantResult:
    mutant: Mutant
    results: list[CriterionResult]
    #: The criteria the reference itself passes: only those can tell a mistake from the solution.
    judged: frozenset[str] = frozenset()

    @property
    def failed(self) -> list[str]:
        """The criteria the reference passes and the mutant fails (or cannot pass because of an error)."""
        return [r.id for r in self.results if r.status in ("failed", "not checked") and r.id in self.judged]

    @property
    def survives(self) -> bool:
        """Passes every criterion that was checked: the exercise does not tell it from the solution."""
        return not self.failed


def _bypass(graph: NetworkGraph, node: str, source: str, output: int) -> None:
    """Give what ``node`` fed to ``source`` (its ``output``) instead, and delete ``node``."""
    consumers = graph.outputs_of(node)
    graph.remove_node(node)
    for edge in consumers:
        graph.connect(source, edge.target, edge.slot, output)


def _prune(graph: NetworkGraph, outputs: set[str]) -> None:
    """Delete the layers left leading nowhere (not an output of the reference, and nothing reads them)."""
    while True:
        dead = [
            n
            for n in graph.node_ids()
            if n not in outputs and not graph.outputs_of(n) and graph.node(n).type != "Input"
        ]
        if not dead:
            return
        for n in dead:
            graph.remove_node(n)


def _layers_with(graph: NetworkGraph, setting: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for node in graph.nodes():
        params = graph.params_of(node.id)
        if setting in params and node.shares is None:
            yield node.id, params


def _changed(reference: NetworkGraph, node: str, setting: str, value: Any) -> NetworkGraph | None:
    graph = reference.copy()
    try:
        graph.set_param(node, setting, value)
    except ParamError:
        return None
    return graph


def _setting_mutants(reference: NetworkGraph, kind: str) -> Iterator[Mutant]:
    setting = {"bias": "use_bias", "activation": "activation"}.get(kind, kind)
    for node, params in _layers_with(reference, setting):
        name, value = reference.node(node).name, params[setting]
        if kind == "padding":
            if value not in ("same", "valid") or (
                set(params.get("kernel_size") or (1,)) == {1} and set(params.get("strides") or (1,)) == {1}
            ):
                continue
            new: Any = "valid" if value == "same" else "same"
        elif kind == "strides":
            if value is None:  # pooling's default, the pool size: a student who sets 1 keeps the size
                new = tuple(1 for _axis in params.get("pool_size") or (1,))
            else:
                new = tuple(1 for _axis in value) if any(s != 1 for s in value) else tuple(2 for _axis in value)
        elif kind == "kernel_size":
            new = tuple(k + 2 for k in value)
        elif kind == "filters":
            new = value * 2
        elif kind == "bias":
            if value is not True:
                continue
            new = False
        else:
            if value not in _SWAP:
                continue
            new = _SWAP[value]
        graph = _changed(reference, node, setting, new)
        if graph is not None:
            yield Mutant(
                kind,
                _("{setting} of {layer} changed from {old} to {new}").format(
                    setting=setting, layer=name, old=value_text(value), new=value_text(new)
                ),
                graph,
            )


def _merge_mutants(reference: NetworkGraph, kind: str, outputs: set[str]) -> Iterator[Mutant]:
    for node in reference.nodes():
        if not node.spec.is_merge or node.spec.family != "Merge":
            continue
        sources = _distinct_inputs(reference, node.id)
        if len(sources) < 2:
            continue
        residual = node.spec.merge_kind == "sum" and _is_bypass(reference, node.id)
        if (kind == "remove_skip") != residual:
            continue
        for source, output in sources:
            if kind == "remove_skip" and not _is_shortcut(reference, source, sources):
                continue
            graph = reference.copy()
            for edge in [e for e in graph.inputs_of(node.id) if (e.source, e.output) == (source, output)]:
                graph.disconnect(edge.source, edge.target, edge.slot)
            left = _distinct_inputs(graph, node.id)
            if len(left) == 1:
                _bypass(graph, node.id, *left[0])
            _prune(graph, outputs)
            if kind == "remove_skip":
                text = _("the skip connection into {merge} removed (its shortcut from {source})")
            else:
                text = _("the branch from {source} into {merge} dropped")
            yield Mutant(kind, text.format(merge=node.name, source=reference.node(source).name), graph)


def _is_shortcut(graph: NetworkGraph, source: str, sources: list[tuple[str, int]]) -> bool:
    """The input of a residual merge that goes around the block: an ancestor of another input (or its projection)."""
    import networkx as nx

    g = graph.nx_graph
    chain, steps = source, 0
    while True:
        if any(b != source and chain != b and nx.has_path(g, chain, b) for b, _o in sources):
            return True
        ins = [e for e in graph.inputs_of(chain) if not e.is_mask]
        if steps >= 2 or len(ins) != 1:
            return False
        chain, steps = ins[0].source, steps + 1


def _layer_mutants(reference: NetworkGraph, kind: str, outputs: set[str]) -> Iterator[Mutant]:
    for node in reference.nodes():
        ins = [e for e in reference.inputs_of(node.id) if not e.is_mask]
        consumers = reference.outputs_of(node.id)
        if node.type == "Input" or len(ins) != 1 or not consumers or node.spec.is_merge:
            continue
        graph = reference.copy()
        try:
            if kind == "delete_layer":
                _bypass(graph, node.id, ins[0].source, ins[0].output)
                text = _("{layer} ({type}) deleted")
            else:
                for edge in graph.outputs_of(node.id):
                    graph.disconnect(edge.source, edge.target, edge.slot)
                    graph.connect(ins[0].source, edge.target, edge.slot, ins[0].output)
                text = _(
                    "a wire around {layer} ({type}): what it fed takes its input instead, and {layer} leads nowhere"
                )
        except GraphError:
            continue
        yield Mutant(kind, text.format(layer=node.name, type=node.type), graph)


def mutants(reference: NetworkGraph, kinds: tuple[str, ...] = MUTATIONS) -> list[Mutant]:
    """The typical mistakes on ``reference``, at most `MAX_PER_KIND` of each kind, in a stable order."""
    outputs = set(analyse(reference).output_nodes)
    makers: dict[str, Callable[[], Iterator[Mutant]]] = {
        "drop_branch": lambda: _merge_mutants(reference, "drop_branch", outputs),
        "remove_skip": lambda: _merge_mutants(reference, "remove_skip", outputs),
        "delete_layer": lambda: _layer_mutants(reference, "delete_layer", outputs),
        "wire_around": lambda: _layer_mutants(reference, "wire_around", outputs),
    }
    out: list[Mutant] = []
    for kind in kinds:
        made = makers[kind]() if kind in makers else _setting_mutants(reference, kind)
        for count, mutant in enumerate(made):
            if count >= MAX_PER_KIND:
                break
            out.append(mutant)
    return out


def check_mutants(
    exercise: Exercise, reference: NetworkGraph, kinds: tuple[str, ...] = MUTATIONS
) -> list[MutantResult]:
    """Every mutant of ``reference`` checked against ``exercise`` (training criteria not run). A criterion the
    reference does not pass itself tells nothing about a mutant, and is left out of each result's `failed`."""
    reference_analysis = analyse(reference)
    judged = frozenset(
        r.id
        for r in check_design(
            exercise, reference, right_answers(exercise, reference, reference_analysis), reference_analysis
        )
        if r.passed
    )
    out = []
    for mutant in mutants(reference, kinds):
        analysis = analyse(mutant.graph)
        results = check_design(exercise, mutant.graph, right_answers(exercise, mutant.graph, analysis), analysis)
        out.append(MutantResult(mutant, results, judged))
    return out
