"""One topological pass over a `NetworkGraph`: output shapes, parameter counts and diagnostics.

Diagnostics are values, never exceptions: each names the node (or ``None`` for the whole network),
a severity, a message a student understands and a hint for the fix. A layer whose input is
unknown (because of an error upstream) is itself *unknown*: its shape and parameter count are
``None``, never guessed.

`Analyzer` keeps the previous pass and recomputes only layers whose parameters or incoming
shapes changed, so re-analysis after one edit costs a fraction of a full pass.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal, NamedTuple

import networkx as nx

from engine.graph import MASK_SLOT, NetworkGraph
from engine.layers import ParamCount, ShapeError, Tensor, fmt_shape, get_spec

__all__ = ["Analysis", "Analyzer", "Diagnostic", "LayerResult", "analyse", "frozen_count", "merge_fix"]

Severity = Literal["error", "warning"]
Status = Literal["ok", "error", "unknown"]


@dataclass(frozen=True)
class Diagnostic:
    """Something wrong (error) or suspicious (warning) about a node or the whole network."""

    severity: Severity
    code: str
    message: str
    hint: str = ""
    node: str | None = None

    def to_dict(self, names: dict[str, str] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"severity": self.severity, "code": self.code, "node": self.node}
        if names is not None:
            out["layer"] = names.get(self.node) if self.node else None
        out["message"] = self.message
        out["hint"] = self.hint
        return out

    def __str__(self) -> str:
        return f"{self.severity}: {self.message}" + (f" Hint: {self.hint}" if self.hint else "")


class LayerResult(NamedTuple):
    """What the analysis found for one layer (a NamedTuple: one is built per layer per pass, so it must be cheap)."""

    node: str
    status: Status
    output: Tensor | None = None
    params: ParamCount | None = None
    inputs: tuple[Tensor | None, ...] = ()
    #: Outputs after the first (an LSTM's states with return_state, attention scores).
    extra_outputs: tuple[Tensor, ...] = ()
    #: For a layer that shares another's weights: the weights its own inputs would need (checked against the owner's).
    own_params: ParamCount | None = None

    @property
    def shape(self) -> tuple[int | None, ...] | None:
        return None if self.output is None else self.output.shape

    @property
    def outputs(self) -> tuple[Tensor, ...]:
        """Every output, the first one first (empty while unknown)."""
        return () if self.output is None else (self.output, *self.extra_outputs)


@dataclass
class Analysis:
    """The result of one pass. ``order`` lists every node: topologically sorted, nodes on cycles last."""

    results: dict[str, LayerResult]
    diagnostics: list[Diagnostic]
    order: list[str]
    input_nodes: list[str]
    output_nodes: list[str]
    total_params: int = 0
    trainable_params: int = 0
    non_trainable_params: int = 0
    #: False when some layer's count is unknown (the totals then cover the known layers only).
    totals_complete: bool = True
    _by_node: dict[str | None, list[Diagnostic]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for d in self.diagnostics:
            self._by_node.setdefault(d.node, []).append(d)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    @property
    def is_valid(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    def diagnostics_for(self, node: str | None) -> list[Diagnostic]:
        return self._by_node.get(node, [])

    def __getitem__(self, node: str) -> LayerResult:
        return self.results[node]


@dataclass
class _Structure:
    rev: int
    order: list[str]
    cycles: dict[str, list[str]]
    components: list[set[str]]
    sinks: list[str]


class Analyzer:
    """Analyses a graph, reusing the results of its previous pass where nothing they depend on changed."""

    def __init__(self) -> None:
        self._graph_id: int | None = None
        self._structure: _Structure | None = None
        self._cache: dict[str, tuple[tuple[Any, ...], LayerResult, list[Diagnostic]]] = {}
        #: Number of layers recomputed by the last pass (for tests and benchmarks).
        self.recomputed = 0

    def analyse(self, graph: NetworkGraph) -> Analysis:
        if self._graph_id != id(graph):
            self._graph_id, self._structure, self._cache = id(graph), None, {}
        structure = self._structure
        if structure is None or structure.rev != graph.structure_rev:
            structure = self._structure = _analyse_structure(graph)
            self._cache = {k: v for k, v in self._cache.items() if k in graph}

        g = graph.nx_graph
        pred, nodes = g._pred, g._node
        results: dict[str, LayerResult] = {}
        diagnostics: list[Diagnostic] = []
        self.recomputed = 0
        cycles = structure.cycles
        for node_id in structure.order:
            incoming = pred[node_id]
            if len(incoming) == 1:  # the common case: one source (one or more slots), no sort of many wires
                (u, keys), = incoming.items()
                edges = sorted((k, u, d.get("output", 0)) for k, d in keys.items()) if len(keys) > 1 else [
                    (k, u, d.get("output", 0)) for k, d in keys.items()]
            else:
                edges = sorted((k, u, d.get("output", 0)) for u, keys in incoming.items() for k, d in keys.items())
            inputs_list: list[Tensor | None] = []
            masks_list: list[Tensor | None] = []
            bad_output = None
            for k, u, o in edges:
                source = results.get(u)
                if source is None or source.output is None:
                    tensor = None
                elif o == 0:
                    tensor = source.output
                elif o <= len(source.extra_outputs):
                    tensor = source.extra_outputs[o - 1]
                else:
                    tensor, bad_output = None, (u, o)
                (inputs_list if k < MASK_SLOT else masks_list).append(tensor)
            inputs, masks = tuple(inputs_list), tuple(masks_list)
            data = nodes[node_id]
            # A layer on a cycle names the others in its message: their names are part of what it depends on.
            on_cycle = tuple(nodes[n]["name"] for n in cycles[node_id]) if node_id in cycles else None
            frozen = not data["trainable"] or (data.get("group") is not None and graph.frozen_by(node_id) is not None)
            key = (data["rev"], tuple((k, o) for k, _, o in edges), inputs, masks, on_cycle, bad_output, frozen)
            cached = self._cache.get(node_id)
            if cached is not None and cached[0] == key:
                result, node_diags = cached[1], cached[2]
            elif bad_output is not None:
                source = nodes[bad_output[0]]
                labels = get_spec(source["type"]).output_labels(source["params"])
                result = LayerResult(node_id, "error", inputs=inputs)
                node_diags = [Diagnostic(
                    "error", "no-such-output",
                    f"{data['name']} is wired to output {bad_output[1] + 1} of {source['name']}, which has only {len(labels)} ({', '.join(labels)}).",
                    "Wire it to an output the layer has, or turn on the option that adds that output (return_state, return_attention_scores).",
                    node_id,
                )]
                self._cache[node_id] = (key, result, node_diags)
                self.recomputed += 1
            else:
                result, node_diags = _analyse_node(graph, node_id, data, inputs, cycles.get(node_id), masks, frozen)
                self._cache[node_id] = (key, result, node_diags)
                self.recomputed += 1
            results[node_id] = result
            if node_diags and node_diags[0].code == "shape" and get_spec(data["type"]).is_merge:
                # Said afresh on every pass: the fix names upstream layers, whose names and settings may change.
                hint = merge_fix(graph, node_id, inputs)
                if hint:
                    node_diags = [replace(node_diags[0], hint=hint), *node_diags[1:]]
            node_diags = _with_input_fix(graph, node_id, node_diags)
            diagnostics.extend(node_diags)

        diagnostics.extend(_shared_diagnostics(graph, results))
        diagnostics.extend(_model_diagnostics(graph))
        diagnostics.extend(_network_diagnostics(graph, structure))
        analysis = Analysis(
            results=results,
            diagnostics=diagnostics,
            order=structure.order,
            input_nodes=[n for n in structure.order if nodes[n]["type"] == "Input"],
            output_nodes=structure.sinks,
        )
        for result in results.values():
            if result.params is None:
                analysis.totals_complete = False
                continue
            analysis.trainable_params += result.params.trainable
            analysis.non_trainable_params += result.params.non_trainable
        analysis.total_params = analysis.trainable_params + analysis.non_trainable_params
        return analysis


def _with_input_fix(graph: NetworkGraph, node_id: str, diags: list[Diagnostic]) -> list[Diagnostic]:
    """A shape error whose fix lies in the layer before gets a hint naming that layer (said afresh on every pass:
    the hint names upstream layers, whose names and settings may change)."""
    if not diags or diags[0].code != "shape":
        return diags
    node_data = graph.nx_graph._node
    fix = get_spec(node_data[node_id]["type"]).input_fix
    if fix is None:
        return diags
    sources = [(node_data[e.source]["name"], node_data[e.source]["type"], node_data[e.source]["params"])
               for e in graph.inputs_of(node_id) if not e.is_mask]
    hint = fix(sources)
    return [replace(diags[0], hint=hint), *diags[1:]] if hint else diags


def _size_text(shape: tuple[int | None, ...]) -> str:
    return "x".join("?" if d is None else str(d) for d in shape)


def _window_culprit(graph: NetworkGraph, node_id: str) -> str | None:
    """The layer that set a branch's spatial size: the node itself or, through layers that keep the size
    (BatchNormalization, Activation, a 1x1 convolution), the nearest size-changing window above it."""
    for _ in range(16):
        spec = graph.node(node_id).spec
        keeps = spec.receptive == "keep"
        if spec.window_rule is not None and spec.receptive in ("window", "transpose", "upsample"):
            window = spec.window_rule(graph.params_of(node_id))
            keeps = all(s == 1 for s in window.strides) and (window.padding != "valid" or all(k == 1 for k in window.kernel))
            if not keeps:
                return node_id
        ins = [e for e in graph.inputs_of(node_id) if not e.is_mask]
        if not keeps or len(ins) != 1:
            return None
        node_id = ins[0].source
    return None


def _branch_fix(graph: NetworkGraph, source: str, rank: int, size: tuple[int | None, ...], wanted: tuple[int | None, ...]) -> str:
    culprit_id = _window_culprit(graph, source)
    known = [(s, w) for s, w in zip(size, wanted) if s is not None and w is not None]
    if culprit_id is None and len(known) == len(size) and all(w and s % w == 0 for s, w in known) and size != wanted:
        strides = "x".join(str(s // w) for s, w in known)
        return f"the shortcut from {graph.node(source).name} must shrink as the other branch does: give it a 1x1 Conv2D with strides {strides} (a projection)."
    if culprit_id is not None:
        culprit = graph.node(culprit_id)
        params = graph.params_of(culprit_id)
        window = culprit.spec.window_rule(params)  # type: ignore[misc]
        if "strides" in params and params["strides"] is None and any(s > 1 for s in window.strides):
            return (f"{culprit.type} strides default to pool_size ({_size_text(window.kernel)}); "
                    f"set strides=1 and padding='same' in {culprit.name} to keep the size.")
        if window.padding == "valid" and any(k > 1 for k in window.kernel):
            return f"use padding='same' in {culprit.name}, so that it keeps the size."
        if any(s > 1 for s in window.strides):
            return f"{culprit.name} has strides {_size_text(window.strides)}; give every branch the same strides."
    return f"every branch must keep the same {'height and width' if rank == 3 else 'size'}."


def merge_fix(graph: NetworkGraph, node_id: str, inputs: tuple[Tensor | None, ...]) -> str:
    """The specific fix for a merge whose inputs do not fit: which branch differs, and the setting that makes
    it differ (``b2_3x3 gives 26x26, the others 28x28: use padding='same'``). Empty when no specific fix is known."""
    edges = [e for e in graph.inputs_of(node_id) if not e.is_mask]
    shapes = [t.shape for t in inputs if t is not None]
    if len(shapes) != len(edges) or len({len(s) for s in shapes}) != 1 or not shapes[0]:
        return ""
    rank = len(shapes[0])
    spec = graph.node(node_id).spec
    counts = Counter(s[:-1] for s in shapes)
    if len(counts) > 1:
        majority = counts.most_common(1)[0][0]
        odd = [i for i, s in enumerate(shapes) if s[:-1] != majority]
        fixes = []
        for i in odd:
            source = graph.node(edges[i].source)
            others = "the others" if len(odd) == 1 else "most branches give"
            gives = f"{source.name} gives {_size_text(shapes[i][:-1])}, {others} {_size_text(majority)}"
            fixes.append(f"{gives}: {_branch_fix(graph, source.id, rank, shapes[i][:-1], majority)}")
        return " ".join(dict.fromkeys(fixes))
    channels = [s[-1] for s in shapes]
    if spec.merge_kind == "concat":
        return f"The branches differ only in channels ({', '.join(map(str, channels))}): use axis=-1 to join them along the channels."
    listing = ", ".join(f"{graph.node(e.source).name} gives {c}" for e, c in zip(edges, channels))
    return (f"The channels differ ({listing}): give the branches the same number of channels, e.g. a 1x1 Conv2D "
            f"with {max(c or 0 for c in channels)} filters on the shortcut.")


def analyse(graph: NetworkGraph) -> Analysis:
    """Analyse ``graph`` from scratch. Never raises for anything a user can draw."""
    return Analyzer().analyse(graph)


# ----------------------------------------------------------------------------------------------


def _analyse_structure(graph: NetworkGraph) -> _Structure:
    g = graph.nx_graph
    # The hot path reads networkx's adjacency dicts directly (as networkx's own algorithms do):
    # the view objects cost more than the whole shape pass on a 400-layer network.
    pred, succ = g._pred, g._succ
    index = {n: i for i, n in enumerate(g.nodes)}
    cycles: dict[str, list[str]] = {}
    order = _kahn(pred, succ, index)
    if len(order) < len(index):  # some nodes sit on or behind a cycle: find the cycles themselves
        for component in nx.strongly_connected_components(g):
            if len(component) > 1 or any(n in succ[n] for n in component):
                members = sorted(component, key=index.__getitem__)
                for n in members:
                    cycles[n] = members
        acyclic = {n: i for n, i in index.items() if n not in cycles}
        sub_pred = {n: {u: k for u, k in pred[n].items() if u in acyclic} for n in acyclic}
        sub_succ = {n: {v: k for v, k in succ[n].items() if v in acyclic} for n in acyclic}
        order = _kahn(sub_pred, sub_succ, acyclic)
        order.extend(sorted(cycles, key=index.__getitem__))
    components = [set(c) for c in nx.weakly_connected_components(g)]
    sinks = [n for n in order if not succ[n]]
    return _Structure(graph.structure_rev, order, cycles, components, sinks)


def _kahn(pred: dict, succ: dict, index: dict[str, int]) -> list[str]:
    """Topological order, ties broken by insertion order; nodes on cycles are left out."""
    missing = {n: len(pred[n]) for n in index}
    ready = [index[n] for n, m in missing.items() if m == 0]
    heapq.heapify(ready)
    by_index = {i: n for n, i in index.items()}
    order = []
    while ready:
        n = by_index[heapq.heappop(ready)]
        order.append(n)
        for v in succ[n]:
            if v in missing:
                missing[v] -= 1
                if missing[v] == 0:
                    heapq.heappush(ready, index[v])
    return order


def _analyse_node(
    graph: NetworkGraph, node_id: str, data: dict[str, Any], inputs: tuple[Tensor | None, ...], cycle: list[str] | None,
    masks: tuple[Tensor | None, ...] = (), frozen: bool = False,
) -> tuple[LayerResult, list[Diagnostic]]:
    n_edges = len(inputs)
    spec = get_spec(data["type"])
    name = data["name"]
    params = data["params"]
    owner = data.get("shares")

    def fail(code: str, message: str, hint: str) -> tuple[LayerResult, list[Diagnostic]]:
        return LayerResult(node_id, "error", inputs=inputs), [Diagnostic("error", code, message, hint, node_id)]

    if cycle is not None:
        names = " -> ".join(graph.nx_graph._node[n]["name"] for n in cycle)
        return fail("cycle", f"{name} is part of a cycle ({names}): data cannot flow in a loop.", "Remove one of the wires that closes the loop.")
    if spec.max_inputs == 0 and n_edges:
        return fail("input-has-inputs", f"{name} is an Input layer, but {n_edges} wire(s) lead into it.", "Remove the wires into the Input; data enters the network here.")
    if spec.max_inputs == 0:
        return LayerResult(node_id, "ok", Tensor(spec.shape_rule(params, ()), spec.output_dtype(params, ())), ParamCount(0, 0, "no weights"), inputs), []
    if n_edges == 0:
        return fail("no-input", f"{name} ({spec.type}) is not connected to any Input: nothing feeds it.", "Drag a wire from the output of a layer (or an Input) to it.")
    if owner is not None and owner not in graph:
        return fail("shared-owner-missing", f"{name} shares the weights of a layer that no longer exists.", "Delete it, or add the layer again.")
    if spec.is_merge and n_edges < spec.min_inputs:
        return fail(
            "merge-too-few",
            f"{name} ({spec.type}) merges several tensors but has only {n_edges} input.",
            "Connect a second branch to it (for a skip connection, wire the block's input to it too), or delete it.",
        )
    if n_edges < spec.min_inputs:
        wanted = " and ".join(spec.input_names[: spec.min_inputs]) or f"{spec.min_inputs} inputs"
        return fail("too-few-inputs", f"{name} ({spec.type}) needs {wanted}, but has only {n_edges} input.", f"Wire its {spec.input_label(n_edges)}.")
    if spec.max_inputs is not None and n_edges > spec.max_inputs:
        expected = "one input" if spec.max_inputs == 1 else f"exactly {spec.max_inputs} inputs"
        return fail("too-many-inputs", f"{name} ({spec.type}) takes {expected} but has {n_edges}.", "Remove the extra wires, or merge the branches first with Add or Concatenate.")
    if None in inputs or None in masks:
        return LayerResult(node_id, "unknown", inputs=inputs), []

    known: tuple[Tensor, ...] = inputs  # type: ignore[assignment]
    try:
        shape = spec.shape_rule(params, known)
        out = Tensor(tuple(shape), spec.output_dtype(params, known))
        extra = spec.outputs_rule(params, known, out.shape) if spec.outputs_rule is not None else ()
        count = spec.count_rule(params, [t.shape for t in known], out.shape)
    except ShapeError as exc:
        got = ", ".join(fmt_shape(t.shape) for t in known)
        return LayerResult(node_id, "error", inputs=inputs), [Diagnostic("error", "shape", exc.message, exc.hint or f"Input shape(s): {got}.", node_id)]
    diags = [Diagnostic("warning", spec.warn_code, msg, hint, node_id) for msg, hint in (spec.warn_rule(params, known) if spec.warn_rule else ())]
    if not spec.accepts_bool and any(t.dtype == "bool" for t in known):
        diags.append(Diagnostic(
            "warning", "dtype", f"{name} ({spec.type}) receives true/false values (a mask); whether Keras can compute with them depends on "
            "the TensorFlow operation inside, and most cannot.",
            "Convert them first with ops.cast to float32, or wire the mask to a layer's mask input.", node_id,
        ))
    if frozen and count.trainable:
        count = frozen_count(graph, node_id, count)
    own = None
    if owner is not None:
        own = count
        count = ParamCount(0, 0, f"shares the weights of {graph.nx_graph._node[owner]['name']} (counted there)")
    return LayerResult(node_id, "ok", out, count, inputs, tuple(extra), own), diags


def frozen_count(graph: NetworkGraph, node_id: str, count: ParamCount) -> ParamCount:
    """A frozen layer's weights, all non-trainable as Keras counts them (BatchNormalization's gamma and beta too)."""
    model = graph.frozen_by(node_id)
    why = f"the nested model {graph.groups[model].name} is frozen" if model is not None else "the layer is frozen (trainable=False)"
    return ParamCount(0, count.total, f"{count.formula}; all non-trainable: {why}")


def _shared_diagnostics(graph: NetworkGraph, results: dict[str, LayerResult]) -> Iterable[Diagnostic]:
    """A layer called twice owns one set of weights: every call must fit the weights of the first."""
    g = graph.nx_graph
    node_data = g._node
    for node_id, result in results.items():
        owner = node_data[node_id].get("shares")
        if owner is None or result.own_params is None or owner not in results:
            continue
        mine, theirs = result.own_params, results[owner].params
        if theirs is not None and mine.total != theirs.total:  # the weights' sizes (frozen or not, they are the same weights)
            first = results[owner].inputs[0] if results[owner].inputs else None
            yield Diagnostic(
                "error", "shared-mismatch",
                f"{g.nodes[node_id]['name']} is {g.nodes[owner]['name']} called again (shared weights), but its input "
                f"{fmt_shape(result.inputs[0].shape if result.inputs and result.inputs[0] else None)} does not fit the weights built for "
                f"{fmt_shape(first.shape if first else None)}.",
                "A shared layer must receive inputs with the same feature sizes on every call.",
                node_id,
            )


def _model_diagnostics(graph: NetworkGraph) -> Iterable[Diagnostic]:
    """Keras calls a nested model as one step: no Input inside it, and no data leaving it and coming back
    (a layer outside the model between two of its layers, or two models feeding each other)."""
    groups = graph.groups
    if not any(g.kind == "model" for g in groups.values()):
        return
    chains: dict[str | None, tuple[str, ...]] = {None: ()}  # group -> its nested models, outermost first

    def chain(group: str | None) -> tuple[str, ...]:
        if group not in chains:
            chains[group] = tuple(g for g in reversed(graph.group_ancestors(group)) if groups[g].kind == "model")
        return chains[group]

    nodes = graph.nx_graph._node
    for n, data in nodes.items():
        models = chain(data.get("group"))
        if data["type"] == "Input" and models:
            inner = groups[models[-1]].name
            yield Diagnostic("error", "input-in-model", f"{data['name']} is an Input inside the nested model {inner}; a nested model "
                             "takes its inputs from the wires that enter it.",
                             f"Delete {data['name']} and wire the tensor it stands for into the layers of {inner}.", n)
    yield from _second_call_diagnostics(graph, {n: chain(d.get("group")) for n, d in nodes.items()})
    scopes: dict[str | None, nx.DiGraph] = {}
    for u, v in graph.nx_graph.edges():
        cu, cv = chain(nodes[u].get("group")), chain(nodes[v].get("group"))
        depth = 0
        while depth < min(len(cu), len(cv)) and cu[depth] == cv[depth]:
            depth += 1
        a = cu[depth] if depth < len(cu) else u
        b = cv[depth] if depth < len(cv) else v
        if a != b:
            scopes.setdefault(cu[depth - 1] if depth else None, nx.DiGraph()).add_edge(a, b)
    for dag in scopes.values():
        for component in nx.strongly_connected_components(dag):
            if len(component) < 2 or not any(item in groups for item in component):
                continue  # a loop of plain layers is reported on each of them as a cycle
            loop = sorted(component)
            outside = next((item for item in loop if item in nodes), None)
            model = next(item for item in loop if item in groups)
            if outside is not None:
                name = nodes[outside]["name"]
                message = (f"{name} lies outside the nested model {groups[model].name} but takes data from it and feeds it back; "
                           "Keras calls a nested model as one step, so data cannot leave it and come back.")
                hint = f"Wire around {name}, or delete it (a layer inserted after a layer of {groups[model].name} joins that model)."
            else:
                names = " and ".join(groups[g].name for g in loop)
                outside = next(n for n in nodes if model in chain(nodes[n].get("group")))
                message = f"The nested models {names} feed each other; Keras calls each nested model as one step."
                hint = "Rewire so that data flows through them one way."
            yield Diagnostic("error", "nested-model-loop", message, hint, outside)


def _second_call_diagnostics(graph: NetworkGraph, chains: dict[str, tuple[str, ...]]) -> Iterable[Diagnostic]:
    """A nested model called twice is one model: the second call's layers must be the first call's, wired the same
    way. A layer added to (or deleted from) one call only, which Keras could not express, is an error."""
    groups = graph.groups
    g = graph.nx_graph
    nodes = g._node
    for gid, group in groups.items():
        owner = group.shares
        if group.kind != "model" or owner not in groups:
            continue
        mine = [n for n, c in chains.items() if gid in c]
        theirs = [n for n, c in chains.items() if owner in c]
        first, second = group.name, groups[owner].name
        copies: dict[str, str] = {}
        problem: tuple[str, str, str] | None = None
        for n in mine:
            original = nodes[n].get("shares")
            if original not in theirs or original in copies:
                problem = (n, f"{nodes[n]['name']} is in {first}, the second call of the nested model {second}, but is not one of "
                              f"{second}'s layers; a nested model called twice is one model, so both calls hold the same layers.",
                           f"Delete {nodes[n]['name']}, or undo the edit that added it.")
                break
            copies[original] = n
        if problem is None:
            missing = next((n for n in theirs if n not in copies), None)
            if missing is not None:
                problem = (missing, f"{nodes[missing]['name']} is in the nested model {second}, but its second call {first} has no copy "
                                    "of it; a nested model called twice is one model, so both calls hold the same layers.",
                           f"Delete {nodes[missing]['name']}, or undo the edit that added it.")
        if problem is None:
            inside = set(theirs)
            wires = {(u, v, k, d.get("output", 0)) for u in theirs for v, keys in g._succ[u].items() if v in inside for k, d in keys.items()}
            copied = {(nodes[u]["shares"], nodes[v]["shares"], k, d.get("output", 0))
                      for u in mine for v, keys in g._succ[u].items() if v in copies.values() for k, d in keys.items()}
            odd = next(iter(sorted(wires ^ copied)), None)
            if odd is not None:
                target = copies[odd[1]] if odd in copied else odd[1]
                problem = (target, f"{nodes[target]['name']} is wired differently in {first} and in {second}, but {first} is a second call "
                                   f"of the nested model {second}: both calls must be wired the same way.",
                           "Undo the edit that rewired one of them, or wire the other call the same way.")
        if problem is not None:
            yield Diagnostic("error", "second-call-differs", problem[1], problem[2], problem[0])


def _network_diagnostics(graph: NetworkGraph, structure: _Structure) -> Iterable[Diagnostic]:
    g = graph.nx_graph
    node_data = g._node
    if len(g) == 0:
        yield Diagnostic("error", "empty", "The network is empty.", "Drag an Input layer from the palette to start.")
        return
    inputs = [n for n in g.nodes if node_data[n]["type"] == "Input"]
    if not inputs:
        yield Diagnostic("error", "no-input-layer", "The network has no Input layer, so no shapes can be computed.", "Add an Input layer, set its shape, and wire it to the first layer.")
    named: dict[tuple[str | None, str], list[str]] = {}
    models: dict[str | None, str | None] = {None: None}
    for n in structure.order:
        data = node_data[n]
        if data.get("shares") is not None:
            continue  # a shared layer's later calls are the same layer
        group = data.get("group")
        if group not in models:
            models[group] = graph.model_group(group)
        named.setdefault((models[group], data["name"]), []).append(n)
    for (_, name), nodes in named.items():
        # The layer that took the name last is the one to rename, not the one that had it first.
        for n in sorted(nodes, key=lambda n: node_data[n].get("named", 0))[1:]:
            yield Diagnostic("error", "duplicate-name", f"Two layers are called {name}; Keras needs unique names.",
                             f"Rename this one: {name} was taken first by another layer.", n)
    # A nested model is one operation of the model around it: its name must differ from that model's other operations'.
    models_named: dict[tuple[str | None, str], str] = {}
    for gid, group in graph.groups.items():
        if group.kind != "model" or group.shares is not None:
            continue
        scope = (graph.model_group(group.parent), group.name)
        clash = named.get(scope)
        if clash:
            yield Diagnostic("error", "duplicate-name", f"The nested model {group.name} and the layer {group.name} have the same name; "
                             "Keras needs unique names in a model.", f"Rename the layer {group.name} or the nested model.", clash[0])
        elif scope in models_named:
            inside = graph.group_members(gid)
            yield Diagnostic("error", "duplicate-name", f"Two nested models are called {group.name}; Keras needs unique names in a model.",
                             f"Rename one of the nested models called {group.name}.", inside[0] if inside else None)
        models_named.setdefault(scope, gid)
    if len(structure.components) > 1:
        index = {n: i for i, n in enumerate(structure.order)}
        parts = sorted(structure.components, key=lambda c: (-len(c), min(index[n] for n in c)))
        for part in parts[1:]:
            first = min(part, key=index.__getitem__)
            names = ", ".join(g.nodes[n]["name"] for n in sorted(part, key=index.__getitem__)[:3])
            more = "" if len(part) <= 3 else f" and {len(part) - 3} more"
            yield Diagnostic(
                "warning",
                "disconnected",
                f"The network falls apart into {len(parts)} separate pieces; this piece ({names}{more}) is not wired to the largest one.",
                "Connect it to the rest, or delete it if it is left over.",
                first,
            )
