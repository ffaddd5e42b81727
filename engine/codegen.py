"""Turn a graph into readable, runnable Keras 3 source code.

The code is what a careful Keras user would write: the functional API (``keras.Sequential`` where the
graph is a plain chain), layer names and parameters as in the graph, only arguments that differ from
Keras's defaults, ``build_model()`` returning the model, and ``model.summary()`` when run as a script.

Nothing from a project file becomes code: layer names and other text are emitted as escaped string
literals, numbers are re-printed from validated values, and Python identifiers are derived from names
by keeping ASCII letters, digits and underscores only. A graph with errors is refused
(`CodegenError`), since Keras would refuse it too.
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from engine.analysis import analyse
from engine.graph import NetworkGraph
from engine.layers import ParamSpec, get_spec

__all__ = ["CodegenError", "TrainingCode", "generate_code", "py_literal", "identifier"]


class CodegenError(ValueError):
    """The graph cannot be exported; the message says why (the first error, with its layer)."""


@dataclass
class TrainingCode:
    """Options for the compile-and-fit part of an exported script."""

    dataset: str = "digits"
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    loss: str = "sparse_categorical_crossentropy"
    #: The output layer gives scores, not probabilities (no softmax/sigmoid): the loss applies it.
    from_logits: bool = False
    metrics: list[str] = field(default_factory=lambda: ["accuracy"])
    batch_size: int = 32
    epochs: int = 10
    validation_split: float = 0.2
    early_stopping: bool = False
    momentum: float = 0.9
    #: None, "mirrored" (several GPUs on one machine) or "multi_worker" (several machines).
    strategy: str | None = None
    #: Text of the data-loading function (from engine.datasets), already safe.
    load_data_source: str = ""


def py_literal(value: Any) -> str:
    """A Python literal for a validated parameter value. Strings are escaped (never raw text)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        text = repr(float(value))
        if text in ("nan", "inf", "-inf"):
            raise CodegenError(f"{text} cannot be exported")
        return text
    if isinstance(value, str):
        # ascii() is a Python literal with every non-ASCII character escaped: an emoji becomes one \U0001f642,
        # not the two lone surrogates of a JSON escape (which a Python literal keeps as two broken halves).
        text = ascii(value)
        if text[0] == "'":  # double quotes, as ruff writes them
            text = '"' + text[1:-1].replace("\\'", "'").replace('"', '\\"') + '"'
        return text
    if isinstance(value, (tuple, list)):
        inner = ", ".join(py_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    raise CodegenError(f"cannot export a value of type {type(value).__name__}")


_IDENT_RE = re.compile(r"[^0-9A-Za-z_]+")


def identifier(name: str, taken: set[str]) -> str:
    """A safe, unique Python identifier for a layer name (ASCII only, so no look-alike characters)."""
    base = _IDENT_RE.sub("_", name).strip("_").lower()[:40].rstrip("_") or "layer"
    if base[0].isdigit():
        base = f"layer_{base}"
    if keyword.iskeyword(base) or base in {"keras", "layers", "inputs", "outputs", "model", "build_model", "tf", "np", "main", "load_data", "train"}:
        base = f"{base}_layer"
    candidate, i = base, 1
    while candidate in taken:
        candidate = f"{base}_{i}"
        i += 1
    taken.add(candidate)
    return candidate


def _compact(spec: ParamSpec, value: Any) -> Any:
    """``(3, 3)`` -> ``3`` and ``((1, 1), (1, 1))`` -> ``1`` where Keras reads both the same."""
    if spec.kind == "ints" and isinstance(value, tuple) and len(set(value)) == 1:
        return value[0]
    if spec.kind in ("padding2d", "pads") and isinstance(value, tuple):
        if len({v for pair in value for v in pair}) == 1:
            return value[0][0]
        if len(value) > 1 and all(a == b for a, b in value):
            return tuple(a for a, _ in value)
        if len(value) == 1:
            return value[0]
    return value


_POSITIONAL = {"units", "filters", "kernel_size", "rate", "input_dim", "output_dim", "target_shape", "dims", "activation", "layer"}


def _is_default(spec: ParamSpec, value: Any) -> bool:
    if spec.required:
        return False
    default = spec.default
    if spec.kind == "choice" and "activation" in spec.name and default is None:
        return value in (None, "linear")
    return value == default


LINE_LENGTH = 88  # ruff format's default


def wrap_call(indent: int, head: str, args: list[str], tail: str) -> list[str]:
    """``head(args)tail`` at ``indent``, split as ruff format splits a call that does not fit:
    all arguments on one indented line if they fit there, else one per line with a trailing comma."""
    pad = " " * indent
    one_line = f"{pad}{head}({', '.join(args)}){tail}"
    if len(one_line) <= LINE_LENGTH or not args:
        return [one_line]
    inner = " " * (indent + 4)
    joined = f"{inner}{', '.join(args)}"
    if len(joined) <= LINE_LENGTH and not any("\n" in a for a in args):
        return [f"{pad}{head}(", joined, f"{pad}){tail}"]
    return [f"{pad}{head}(", *(f"{inner}{a}," for a in args), f"{pad}){tail}"]


def layer_call(layer_type: str, params: Mapping[str, Any], name: str | None) -> str:
    """``layers.Conv2D(32, 3, strides=2, name="conv1")``: required arguments positional, defaults left out."""
    args = layer_args(layer_type, params, name)
    return f"layers.{layer_type}({', '.join(args)})"


def layer_args(layer_type: str, params: Mapping[str, Any], name: str | None, call_params: tuple[str, ...] = (),
               trainable: bool = True) -> list[str]:
    """The argument texts of `layer_call` (``call_params`` are left for the call itself; ``trainable=False`` for a frozen layer)."""
    spec = get_spec(layer_type)
    args: list[str] = []
    keyword_only = False
    for p in spec.params:
        if p.name in spec.call_params:
            continue
        value = params.get(p.name, p.default)
        if _is_default(spec.param(p.name), value):
            keyword_only = True
            continue
        if p.kind == "layer":
            text = layer_call(value["type"], value["params"], None)
        else:
            text = py_literal(_compact(p, value))
        if p.required and p.name in _POSITIONAL and not keyword_only:
            args.append(text)
        else:
            keyword_only = True
            args.append(f"{p.name}={text}")
    if not trainable:
        args.append("trainable=False")
    if name is not None:
        args.append(f"name={py_literal(name)}")
    return args


def _input_args(params: Mapping[str, Any], name: str) -> list[str]:
    args = [f"shape={py_literal(tuple(params['shape']))}"]
    if params["dtype"] != "float32":
        args.append(f"dtype={py_literal(params['dtype'])}")
    args.append(f"name={py_literal(name)}")
    return args


def _is_chain(graph: NetworkGraph, order: list[str]) -> bool:
    g = graph.nx_graph
    inputs = [n for n in order if g.nodes[n]["type"] == "Input"]
    if len(inputs) != 1 or order[0] != inputs[0] or graph.groups:
        return False
    for n in order:
        data = g.nodes[n]
        if data.get("shares") or (n != order[0] and get_spec(data["type"]).call != "single"):
            return False
    for a, b in zip(order, order[1:]):
        if g.out_degree(a) != 1 or g.in_degree(b) != 1 or not g.has_edge(a, b) or g.edges[a, b, 0].get("output", 0) != 0:
            return False
    return g.out_degree(order[-1]) == 0


def _comment(text: str) -> str:
    """Free text as a one-line comment: control characters and line breaks removed."""
    cleaned = "".join(c if c.isprintable() else " " for c in text)
    return re.sub(r"\s+", " ", cleaned).strip()[:200]


Ref = tuple[str, int]


class _Writer:
    """Writes the functional code of a graph: one scope for the model, and one builder function per nested model."""

    def __init__(self, graph: NetworkGraph, analysis: Any, repeats: Sequence[Repeat] = ()) -> None:
        self.graph = graph
        self.analysis = analysis
        self.g = graph.nx_graph
        self.index = {n: i for i, n in enumerate(analysis.order)}
        self.functions: list[list[str]] = []
        self.taken: set[str] = set()
        self.imports: set[str] = set()
        #: Layer -> (its repeated block's index in `repeated`, the block's index in it).
        self.repeated = list(repeats)
        self.in_repeat: dict[str, tuple[int, int]] = {
            n: (r, b) for r, repeat in enumerate(self.repeated) for b, block in enumerate(repeat.blocks) for n in block[1]}
        self.written: set[int] = set()
        self.layer_objects: dict[str, str] = {}  # node owning shared weights -> variable holding the layer
        self.group_models: dict[str, str] = {}  # group -> variable holding its model
        self.layer_names = {d["name"] for _, d in self.g.nodes(data=True) if get_spec(d["type"]).call != "op"}

    # -- structure ------------------------------------------------------------------------------

    def item_of(self, node: str, scope: str | None) -> str:
        """The node itself if it sits directly in ``scope``, else the child group of ``scope`` holding it
        (or the repeated block it is written in)."""
        if scope is None and node in self.in_repeat:
            r, b = self.in_repeat[node]
            return f"repeat:{r}:{b}"
        group = self.g.nodes[node].get("group")
        if group == scope:
            return node
        while group is not None and self.graph.groups[group].parent != scope:
            group = self.graph.groups[group].parent
        return f"group:{group}"

    def members(self, group: str) -> list[str]:
        out = []
        for n in self.analysis.order:
            g = self.g.nodes[n].get("group")
            while g is not None and g != group:
                g = self.graph.groups[g].parent
            if g == group:
                out.append(n)
        return out

    def scope_order(self, scope: str | None, nodes: list[str]) -> list[str]:
        dag = nx.DiGraph()
        first: dict[str, int] = {}
        for n in nodes:
            item = self.item_of(n, scope)
            dag.add_node(item)
            first[item] = min(first.get(item, self.index[n]), self.index[n])
        node_set = set(nodes)
        for u, v in self.g.edges():
            if u in node_set and v in node_set:
                a, b = self.item_of(u, scope), self.item_of(v, scope)
                if a != b:
                    dag.add_edge(a, b)
        return list(nx.lexicographical_topological_sort(dag, key=first.__getitem__))

    def boundary(self, group: str) -> tuple[list[Ref], list[Ref]]:
        """External tensors feeding ``group`` and its tensors used outside (or leaving the model), in order."""
        members = self.members(group)
        inside = set(members)
        ins: list[Ref] = []
        outs: list[Ref] = []
        for n in members:
            for e in self.graph.inputs_of(n):
                if e.source not in inside and (e.source, e.output) not in ins:
                    ins.append((e.source, e.output))
            leaving = [e for e in self.graph.outputs_of(n) if e.target not in inside]
            refs = sorted({e.output for e in leaving}) or ([0] if n in self.analysis.output_nodes else [])
            outs.extend((n, o) for o in refs if (n, o) not in outs)
        return ins, outs

    # -- emitting -------------------------------------------------------------------------------

    def var_names(self, node: str) -> list[str]:
        data = self.g.nodes[node]
        labels = get_spec(data["type"]).output_labels(data["params"])
        base = data["name"] if not data.get("shares") else f"{self.g.nodes[data['shares']]['name']}_call"
        return [identifier(base if i == 0 else f"{base}_{label}", self.taken) for i, label in enumerate(labels)]

    def scope(self, scope: str | None, nodes: list[str], var: dict[Ref, str], indent: int) -> list[str]:
        lines: list[str] = []
        for item in self.scope_order(scope, nodes):
            if item.startswith("group:"):
                lines += self.group_call(item[6:], var, indent)
            elif item.startswith("repeat:"):
                r, b = map(int, item[7:].split(":"))
                lines += self.repeat_call(r, b, var, indent)
            else:
                lines += self.node(item, var, indent)
        return lines

    def repeat_call(self, r: int, b: int, var: dict[Ref, str], indent: int) -> list[str]:
        """``x = conv_block(x, "conv2_block1")``; the function itself is written the first time."""
        repeat = self.repeated[r]
        name, members, entry, exit_node = repeat.blocks[b]
        if r not in self.written:
            self.written.add(r)
            self.functions.append(self.repeat_function(repeat))
        out = self.var_names(exit_node)[0]
        var[(exit_node, 0)] = out
        return [f"{' ' * indent}{out} = {repeat.function}({var[entry]}, {py_literal(name)})"]

    def repeat_function(self, repeat: Repeat) -> list[str]:
        name, members, entry, exit_node = repeat.blocks[0]
        lines = [f"def {repeat.function}(x, name):",  # the docstring fits ruff's 88 columns: names are at most 100 long
                 f'    """A block of {len(members)} layers, used {len(repeat.blocks)} times, first as {name[:24]}."""']
        local: dict[Ref, str] = {entry: "x"}
        saved = self.taken
        self.taken = {"x", "name"}
        for n in members:
            layer_name = self.g.nodes[n]["name"]
            suffix = layer_name[len(name) + 1:]
            for line in self.node(n, local, 4):  # the block's name is the function's argument
                lines.append(line.replace(f"name={py_literal(layer_name)}", f'name=f"{{name}}_{suffix}"'))
        self.taken = saved
        lines.append(f"    return {local[(exit_node, 0)]}")
        # Variables read as the layers they hold, without the first block's name: conv2_block1_1_conv -> h1_conv.
        pattern = re.compile(r"\b" + re.escape(name) + r"_(\w+)")
        return [lines[0], lines[1], *(pattern.sub(lambda m: ("h" if m.group(1)[0].isdigit() else "") + m.group(1), line) for line in lines[2:])]

    def node(self, n: str, var: dict[Ref, str], indent: int) -> list[str]:
        data = self.g.nodes[n]
        spec = get_spec(data["type"])
        pad = " " * indent
        names = self.var_names(n)
        for i, v in enumerate(names):
            var[(n, i)] = v
        if data["type"] == "Input":
            return wrap_call(indent, f"{names[0]} = keras.Input", _input_args(data["params"], data["name"]), "")
        edges = self.graph.inputs_of(n)
        data_edges = [e for e in edges if not e.is_mask]
        masks = [var[(e.source, e.output)] for e in edges if e.is_mask]
        sources = [var[(e.source, e.output)] for e in data_edges]
        target = names[0] if len(names) == 1 else ", ".join(names)
        call_kwargs = [f"{k}={py_literal(data['params'][k])}" for k in spec.call_params if data["params"][k] != spec.param(k).default]
        if masks:
            call_kwargs.append(f"mask={masks[0] if len(masks) == 1 else '[' + ', '.join(masks) + ']'}")
        if spec.call == "op":
            function = spec.type[4:]
            if self.op_name_taken(function):
                # keras.ops.add() would name its node "add", which a layer already uses (Keras refuses two
                # nodes with one name): build the operation with its saved name instead.
                keyword = [
                    f"{q.name}={py_literal(data['params'][q.name])}" for q in spec.params
                    if q.name not in ("operand", "operand_first") and (q.required or data["params"][q.name] != q.default)
                ]
                positional = _op_args(spec, data["params"], sources)[: len(sources) + (1 if spec.has_param("operand") and data["params"]["operand"] is not None else 0)]
                head = f"{target} = {spec.keras_module}.{spec.keras_class}"
                return wrap_call(indent, head, [*keyword, f"name={py_literal(data['name'])}"], f"({', '.join(positional)})")
            return wrap_call(indent, f"{target} = keras.ops.{function}", _op_args(spec, data["params"], sources), "")
        if spec.call == "list":
            args = [f"[{', '.join(sources)}]"]
        elif spec.call == "named":
            args = [sources[0]]
            grouped: dict[str, list[str]] = {}
            for e, source in zip(data_edges[1:], sources[1:]):
                label = spec.input_names[e.slot] if e.slot < len(spec.input_names) else f"input_{e.slot}"
                grouped.setdefault(label.split("[")[0], []).append(source)
            for key, values in grouped.items():
                indexed = any(name.startswith(key + "[") for name in spec.input_names)
                args.append(f"{key}=[{', '.join(values)}]" if indexed else f"{key}={values[0]}")
        else:
            args = [sources[0]]
        args += call_kwargs
        owner = data.get("shares")
        if owner is not None or any(d.get("shares") == n for _, d in self.g.nodes(data=True)):
            key = owner or n
            lines: list[str] = []
            if key not in self.layer_objects:
                obj = identifier(f"{self.g.nodes[key]['name']}_layer", self.taken)
                self.layer_objects[key] = obj
                owner_data = self.g.nodes[key]
                lines += wrap_call(indent, f"{obj} = {self.layer_class(spec)}", layer_args(owner_data["type"], owner_data["params"], owner_data["name"],
                                                                                          spec.call_params, owner_data["trainable"]), "")
            return lines + [f"{pad}{target} = {self.layer_objects[key]}({', '.join(args)})"]
        return wrap_call(indent, f"{target} = {self.layer_class(spec)}", layer_args(data["type"], data["params"], data["name"], spec.call_params,
                                                                                    data["trainable"]), f"({', '.join(args)})")

    def op_name_taken(self, function: str) -> bool:
        """A layer already has the name Keras would give this operation (``add``, ``add_1``, ...)."""
        return any(name == function or re.fullmatch(re.escape(function) + r"_\d+", name) for name in self.layer_names)

    def layer_class(self, spec: Any) -> str:
        if spec.keras_module == "keras.layers":
            return f"layers.{spec.type}"
        self.imports.add(f"from {spec.keras_module} import {spec.type}")
        return spec.type

    def group_call(self, group: str, var: dict[Ref, str], indent: int) -> list[str]:
        info = self.graph.groups[group]
        ins, outs = self.boundary(group)
        lines: list[str] = []
        owner = info.shares if info.shares in self.graph.groups else None
        key = owner or group
        if key not in self.group_models:
            model_var = identifier(info.name, self.taken)
            self.group_models[key] = model_var
            function = identifier(f"build_{info.name}", self.taken)
            self.functions.append(self.builder(key, function))
            lines.append(f"{' ' * indent}{model_var} = {function}()")
        if owner is not None:  # the same nested model called again: its outputs in the owner's order
            own_outs = self.boundary(owner)[1]
            by_owner = {(self.g.nodes[n].get("shares"), o): (n, o) for n, o in outs}
            outs = [by_owner.get(ref, ref) for ref in own_outs]
        names = []
        for n, o in outs:
            label = get_spec(self.g.nodes[n]["type"]).output_labels(self.g.nodes[n]["params"])[o]
            name = identifier(self.g.nodes[n]["name"] + ("" if o == 0 else f"_{label}"), self.taken)
            var[(n, o)] = name
            names.append(name)
        argument = var[ins[0]] if len(ins) == 1 else f"[{', '.join(var[r] for r in ins)}]"
        target = ", ".join(names) if names else "_"
        return lines + [f"{' ' * indent}{target} = {self.group_models[key]}({argument})"]

    def builder(self, group: str, function: str) -> list[str]:
        info = self.graph.groups[group]
        ins, outs = self.boundary(group)
        local: dict[Ref, str] = {}
        lines = [f"def {function}():", f'    """The nested model {_comment(info.name)}."""']
        for i, (n, o) in enumerate(ins):
            result = self.analysis.results[n]
            tensor = result.outputs[o]
            name = identifier(f"{info.name}_input_{i + 1}" if len(ins) > 1 else f"{info.name}_input", self.taken)
            local[(n, o)] = name
            args = [f"shape={py_literal(tuple(tensor.shape))}"] + ([f"dtype={py_literal(tensor.dtype)}"] if tensor.dtype != "float32" else [])
            lines += wrap_call(4, f"{name} = keras.Input", args, "")
        lines += self.scope(group, self.members(group), local, 4)
        in_text = local[ins[0]] if len(ins) == 1 else f"[{', '.join(local[r] for r in ins)}]"
        out_text = local[outs[0]] if len(outs) == 1 else f"[{', '.join(local[r] for r in outs)}]"
        if info.trainable:
            lines += wrap_call(4, "return keras.Model", [f"inputs={in_text}", f"outputs={out_text}", f"name={py_literal(info.name)}"], "")
        else:  # frozen, as the transfer-learning guide writes it: every weight inside non-trainable
            lines += wrap_call(4, "model = keras.Model", [f"inputs={in_text}", f"outputs={out_text}", f"name={py_literal(info.name)}"], "")
            lines += ["    model.trainable = False", "    return model"]
        return lines


def _op_args(spec: Any, params: Mapping[str, Any], sources: list[str]) -> list[str]:
    args = list(sources)
    if spec.has_param("operand") and params["operand"] is not None:
        number = py_literal(params["operand"])
        args = [number, *args] if params["operand_first"] else [*args, number]
    for p in spec.params:
        if p.name in ("operand", "operand_first"):
            continue
        value = params[p.name]
        if p.required:
            args.append(py_literal(value))
        elif value != p.default:
            args.append(f"{p.name}={py_literal(value)}")
    return args


def build_model_source(graph: NetworkGraph, model_name: str = "model") -> str:
    """The ``build_model()`` function for ``graph`` (and a builder per nested model before it).

    Raises `CodegenError` if the graph has errors."""
    return _model_source(graph, model_name)[0]


@dataclass(frozen=True)
class Repeat:
    """Blocks of one structure, written as one Python function called once per block."""

    function: str
    #: (block name, its layers in order, the tensor it takes, the layer whose output it gives)
    blocks: tuple[tuple[str, tuple[str, ...], tuple[str, int], str], ...]


def repeated_blocks(graph: NetworkGraph) -> list[Repeat]:
    """Blocks with the same structure (layer types, settings, wiring, and names ``<block>_<suffix>``), one tensor
    in and one out, found twice or more: what a careful Keras user writes as one function (DenseNet's
    ``conv_block(x, name)``). Designs with nested models keep one builder per model instead."""
    if any(group.kind == "model" for group in graph.groups.values()):
        return []
    order = {n: i for i, n in enumerate(analyse(graph).order)}
    found: dict[tuple[Any, ...], list[tuple[str, tuple[str, ...], tuple[str, int], str]]] = {}
    for gid, group in graph.groups.items():
        members = sorted(graph.group_members(gid), key=order.__getitem__)
        inner = set(members)
        if len(members) < 2 or not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", group.name):
            continue
        if any(graph.node(n).shares or graph.node(n).type == "Input" for n in members):
            continue
        entering = {(e.source, e.output) for n in members for e in graph.inputs_of(n) if e.source not in inner}
        leaving = [e for n in members for e in graph.outputs_of(n) if e.target not in inner]
        exits = {e.source for e in leaving}
        if len(entering) != 1 or len(exits) != 1 or any(e.output for e in leaving):
            continue
        prefix = group.name + "_"
        suffixes = [graph.node(n).name[len(prefix):] if graph.node(n).name.startswith(prefix) else "" for n in members]
        if not all(re.fullmatch(r"[A-Za-z0-9_]+", x) for x in suffixes):
            continue
        position = {n: i for i, n in enumerate(members)}
        exit_node = exits.pop()
        signature = tuple(
            (graph.node(n).type, json.dumps(dict(graph.node(n).params), sort_keys=True, default=str), graph.node(n).trainable, suffix, n == exit_node,
             tuple(("in" if e.source not in inner else position[e.source], e.slot, e.output) for e in graph.inputs_of(n)))
            for n, suffix in zip(members, suffixes)
        )
        found.setdefault(signature, []).append((group.name, tuple(members), entering.pop(), exit_node))
    taken: set[str] = set()
    repeats = []
    for blocks in found.values():
        if len(blocks) >= 2:
            stem = re.sub(r"\d+", "", blocks[0][0]).strip("_.-") or "block"
            repeats.append(Repeat(identifier(stem, taken), tuple(blocks)))
    return repeats


def _model_source(graph: NetworkGraph, model_name: str, repeats: list[Repeat] | tuple[()] = ()) -> tuple[str, set[str]]:
    analysis = analyse(graph)
    if not analysis.is_valid:
        first = analysis.errors[0]
        where = f"{graph.node(first.node).name}: " if first.node else ""
        raise CodegenError(f"the network has {len(analysis.errors)} error(s); fix them first ({where}{first.message})")
    order = analysis.order
    g = graph.nx_graph
    lines = ["def build_model():", '    """Build the Keras model drawn in LayerLab."""']
    if _is_chain(graph, order):
        lines.append("    return keras.Sequential(")
        lines.append("        [")
        first = g.nodes[order[0]]
        lines += wrap_call(12, "keras.Input", _input_args(first["params"], first["name"]), ",")
        writer = _Writer(graph, analysis)
        for n in order[1:]:
            data = g.nodes[n]
            lines += wrap_call(12, writer.layer_class(get_spec(data["type"])), layer_args(data["type"], data["params"], data["name"],
                                                                                      trainable=data["trainable"]), ",")
        lines.append("        ],")
        lines.append(f"        name={py_literal(model_name)},")
        lines.append("    )")
        return "\n".join(lines) + "\n", writer.imports
    writer = _Writer(graph, analysis, repeats)
    var: dict[Ref, str] = {}
    lines += writer.scope(None, [n for n in order], var, 4)
    ins = [var[(n, 0)] for n in analysis.input_nodes]
    outs = [var[(n, 0)] for n in analysis.output_nodes]
    ins_text = ins[0] if len(ins) == 1 else f"[{', '.join(ins)}]"
    outs_text = outs[0] if len(outs) == 1 else f"[{', '.join(outs)}]"
    lines += wrap_call(4, "return keras.Model", [f"inputs={ins_text}", f"outputs={outs_text}", f"name={py_literal(model_name)}"], "")
    functions = ["\n".join(f) + "\n\n\n" for f in writer.functions]
    return "".join(functions) + "\n".join(lines) + "\n", writer.imports


def _optimizer_expr(t: TrainingCode) -> str:
    name = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop"}[t.optimizer.lower()]
    extra = f", momentum={py_literal(float(t.momentum))}" if name == "SGD" else ""
    return f"keras.optimizers.{name}(learning_rate={py_literal(float(t.learning_rate))}{extra})"


_LOSS_CLASSES = {
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
    "categorical_crossentropy": "CategoricalCrossentropy",
    "binary_crossentropy": "BinaryCrossentropy",
}


def _loss_expr(t: TrainingCode) -> str:
    if t.from_logits and t.loss in _LOSS_CLASSES:
        return f"keras.losses.{_LOSS_CLASSES[t.loss]}(from_logits=True)"
    if t.loss not in (*_LOSS_CLASSES, "mse", "mae", "huber"):
        raise CodegenError(f"unknown loss {t.loss!r}")
    return py_literal(t.loss)


def _training_source(t: TrainingCode) -> str:
    if t.strategy == "multi_worker":  # model.fit fails under MultiWorkerMirroredStrategy: a training loop of its own
        from engine.export.distributed import multi_worker_source

        return multi_worker_source(t, py_literal)
    metrics = ", ".join(py_literal(m) for m in t.metrics)
    callbacks = "[keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)]" if t.early_stopping else "[]"
    helpers = [
        "def make_optimizer():",
        f"    return {_optimizer_expr(t)}",
        "",
        "",
        "def make_loss():",
        f"    return {_loss_expr(t)}",
        "",
        "",
    ]
    compile_lines = [
        f"    model.compile(optimizer=make_optimizer(), loss=make_loss(), metrics=[{metrics}])",
    ]
    if t.strategy == "mirrored":
        head = [
            "def train():",
            '    """Train on every GPU of this machine (MirroredStrategy), else on its CPUs."""',
            "    import tensorflow as tf",
            "",
            '    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")',
            "    strategy = tf.distribute.MirroredStrategy([device.name for device in devices])",
            "    with strategy.scope():",
            "        model = build_model()",
            *["    " + line for line in compile_lines],
        ]
    elif t.strategy is None:
        head = ["def train():", '    """Compile the model and fit it to the data."""', "    model = build_model()", *compile_lines]
    else:
        raise CodegenError(f"unknown distribution strategy {t.strategy!r}")
    body = [
        "    x_train, y_train, x_test, y_test = load_data()",
        "    history = model.fit(",
        "        x_train,",
        "        y_train,",
        f"        batch_size={py_literal(int(t.batch_size))},",
        f"        epochs={py_literal(int(t.epochs))},",
        f"        validation_split={py_literal(float(t.validation_split))},",
        f"        callbacks={callbacks},",
        "    )",
        "    if x_test is not None:",
        '        print("test:", model.evaluate(x_test, y_test, verbose=0, return_dict=True))',
        "    return model, history",
    ]
    return "\n".join(helpers + head + body) + "\n"


def generate_code(graph: NetworkGraph, *, title: str = "", model_name: str = "model", training: TrainingCode | None = None,
                  formatted: bool = True) -> str:
    """A complete, ruff-clean Python module for ``graph``. Raises `CodegenError` for an invalid graph.

    ``formatted=False`` skips ruff (a process start): for code that is run, not read (the training worker)."""
    model_name = model_name if re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", model_name or "") else "model"
    header = '"""Keras model exported by LayerLab."""\n'
    if title:  # free text only ever appears as a one-line comment
        header += f"\n# Design: {_comment(title)}\n"
    repeats: list[Repeat] = []
    if any(g.kind == "block" for g in graph.groups.values()):
        repeats = repeated_blocks(graph)
        graph = graph.without_blocks()  # blocks are a drawing aid: the model is the same without them
    model_source, extra_imports = _model_source(graph, model_name, repeats)
    imports = "import keras\nfrom keras import layers\n" + "".join(line + "\n" for line in sorted(extra_imports))
    parts = [header, imports, model_source]
    if training is not None:
        parts.append(training.load_data_source.strip() + "\n")
        parts.append(_training_source(training))
    main = ['if __name__ == "__main__":']
    if training is None:
        main += ["    model = build_model()", "    model.summary()"]
    else:
        main += ["    model, history = train()", "    model.summary()"]
    parts.append("\n".join(main) + "\n")
    head, *rest = parts
    source = head + "\n" + "\n\n\n".join(p.rstrip("\n") for p in rest) + "\n"
    return ruff_format(source) if formatted else source


def ruff_format(source: str) -> str:
    """``source`` formatted by ruff with its defaults (what a careful Keras user's editor does).

    Without ruff the code is returned as generated: valid, with long calls already wrapped.
    """
    import subprocess
    import sys

    try:
        result = subprocess.run(
            [sys.executable, "-m", "ruff", "format", "--isolated", "--stdin-filename", "model.py", "-"],
            input=source, capture_output=True, text=True, timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return source
    return result.stdout if result.returncode == 0 and result.stdout else source
