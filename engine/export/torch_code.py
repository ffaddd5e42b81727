"""Turn a design into readable PyTorch code that computes what the Keras model computes.

The code is what a careful PyTorch user writes: one ``nn.Module`` with one attribute per layer
(``nn.Conv2d``, ``nn.BatchNorm2d``, ``nn.LSTM`` ...), a ``forward`` that follows the graph (skip
connections, concatenations, a shared layer called twice, a nested Keras model as a sub-module),
``build_model()`` and ``load_keras_weights(model, path)``, which copies the arrays of a Keras 3
``.keras`` archive or ``.weights.h5`` file into the module with h5py (no TensorFlow).

The module keeps the Keras model's contract: it takes the same channels-last arrays and returns the
same outputs. Inside, tensors are moved to channels-first where PyTorch's layers want them and back
only where an operation depends on the order of the axes (Flatten keeps Keras's element order).
``padding="same"`` with strides is padded as TensorFlow pads (the extra row after), BatchNormalization's
momentum is translated (PyTorch's is ``1 - momentum``), recurrent gates are reordered (GRU's ``z, r, h``
to PyTorch's ``r, z, n``) and their biases mapped, GRU's ``reset_after`` biases included.

How each layer type is written is the layer's spec's ``torch`` key, one translator per key below;
a layer with no key, or with settings PyTorch cannot reproduce, is refused by name (`TorchExportError`).
Generating the code needs neither PyTorch nor TensorFlow.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from gettext import gettext as _
from typing import Any

from engine.analysis import analyse
from engine.codegen import _Writer, identifier, repeated_blocks, ruff_format
from engine.graph import NetworkGraph, Node, default_name
from engine.layers import get_spec

__all__ = ["TorchCode", "TorchExportError", "TRANSLATORS", "generate_torch_code", "keras_layer_paths", "torch_refusals"]

LAST, FIRST = "last", "first"


class TorchExportError(ValueError):
    """The design cannot be written as PyTorch code; the message lists every refused layer and why."""


class _Unsupported(Exception):
    """A translator cannot reproduce these settings in PyTorch (the message says which and what to do)."""


@dataclass(frozen=True)
class TorchCode:
    """The generated module and how its parameter count compares with Keras's."""

    source: str
    keras_params: int
    torch_params: int
    #: Layers where PyTorch itself holds more numbers than Keras (a recurrent layer's second bias), one sentence each.
    extra: tuple[str, ...] = ()

    def summary(self, path: str) -> str:
        """What the command line prints after writing ``path``."""
        if self.torch_params == self.keras_params:
            return _("Wrote {path}: PyTorch code with {count:,} parameters, as many as the Keras model.").format(
                path=path, count=self.torch_params)
        return _("Wrote {path}: PyTorch code with {torch:,} parameters where Keras has {keras:,} ({why}).").format(
            path=path, torch=self.torch_params, keras=self.keras_params, why="; ".join(self.extra))


# ---------------------------------------------------------------------------------------------------------------------
# The Keras weights file: where each layer's arrays are


def keras_layer_paths(graph: NetworkGraph) -> dict[str, str]:
    """Layer (node id, the owner for shared layers; ``group:<id>`` for a nested model) -> its path in a Keras 3 weights
    file (``layers/conv2d_3``), as ``keras.saving`` names it: by class, numbered in the order of ``model.layers``.

    Keras orders ``model.layers`` by depth from the outputs, then by first visit in a depth-first walk from each
    output (``keras.src.ops.function.map_graph``); this is that walk over the design's calls.
    """
    analysis = analyse(graph)
    writer = _Writer(graph, analysis)
    paths: dict[str, str] = {}
    chain = _is_sequential(graph, analysis)

    def walk(scope: str | None, prefix: str) -> None:
        nodes = [n for n in analysis.order if _owner_scope(graph, n, scope)]
        calls = _calls(graph, writer, scope, nodes)
        if scope is None:
            outputs = [(n, 0) for n in analysis.output_nodes]
            inputs = [n for n in analysis.input_nodes]
        else:
            outputs = writer.boundary(scope)[1]
            inputs = []
        order = _keras_order(calls, outputs, inputs)
        used: dict[str, int] = {}
        for operation in order:
            if chain and operation in inputs:  # a Sequential model's layers leave out its InputLayer
                continue
            if operation.startswith("input:"):
                cls = "InputLayer"
            elif operation.startswith("group:"):
                cls = "Functional"
            else:
                spec = graph.node(operation).spec
                if spec.call == "op":  # keras.ops calls are operations, not layers
                    continue
                cls = spec.keras_class
            name = default_name(cls) if cls != "Functional" else "functional"
            if name in used:
                used[name] += 1
                name = f"{name}_{used[name]}"
            else:
                used[name] = 0
            paths[operation] = f"{prefix}layers/{name}"
            if operation.startswith("group:"):
                walk(operation[6:], f"{prefix}layers/{name}/")

    walk(None, "")
    return paths


def _is_sequential(graph: NetworkGraph, analysis: Any) -> bool:
    from engine.codegen import _is_chain

    return _is_chain(graph, analysis.order)


def _owner_scope(graph: NetworkGraph, node: str, scope: str | None) -> bool:
    """``node`` lies in ``scope`` (directly or in a nested model inside it)."""
    group = graph.node(node).group
    while group is not None and group != scope:
        group = graph.groups[group].parent
    return group == scope


@dataclass
class _KerasCall:
    operation: str
    inputs: list[tuple[str, int]]  # (producing call, its output)
    is_input: bool = False


def _calls(graph: NetworkGraph, writer: _Writer, scope: str | None, nodes: list[str]) -> dict[str, _KerasCall]:
    """The calls of ``scope``: one per node directly in it, one per nested model call, one InputLayer per input."""
    calls: dict[str, _KerasCall] = {}
    item_of = {n: writer.item_of(n, scope) for n in nodes}
    if scope is not None:
        for i, ref in enumerate(writer.boundary(scope)[0]):
            calls[f"input:{ref[0]}:{ref[1]}"] = _KerasCall(f"input:{i}", [], True)

    def source(ref: tuple[str, int]) -> tuple[str, int]:
        node, output = ref
        if node not in item_of:  # an input of the nested model
            return (f"input:{node}:{output}", 0)
        item = item_of[node]
        if item.startswith("group:"):
            outs = writer.boundary(item[6:])[1]
            return (item, outs.index(ref))
        return (item, output)

    for n in nodes:
        item = item_of[n]
        if item in calls:
            continue
        if item.startswith("group:"):
            group = item[6:]
            owner = graph.groups[group].shares or group
            calls[item] = _KerasCall(f"group:{owner}", [source(r) for r in writer.boundary(group)[0]])
            continue
        node = graph.node(n)
        edges = graph.inputs_of(n)
        ordered = [e for e in edges if not e.is_mask] + [e for e in edges if e.is_mask]
        calls[item] = _KerasCall(node.shares or n, [source((e.source, e.output)) for e in ordered], node.type == "Input")
    return calls


def _keras_order(calls: dict[str, _KerasCall], outputs: Sequence[tuple[str, int]], inputs: Sequence[str]) -> list[str]:
    """``keras.src.ops.function.map_graph``'s order of operations over ``calls``."""
    finished: set[str] = set()
    decreasing: list[str] = []
    index: dict[str, int] = {}

    def visit(call: str) -> None:
        if call in finished:
            return
        operation = calls[call].operation
        index.setdefault(operation, len(index))
        for parent, _output in calls[call].inputs:
            visit(parent)
        finished.add(call)
        decreasing.append(call)

    for ref in outputs:
        visit(ref[0] if ref[0] in calls else f"input:{ref[0]}:{ref[1]}")
    node_depth: dict[str, int] = {}
    op_depth: dict[str, int] = {}
    for call in reversed(decreasing):
        depth = max(node_depth.setdefault(call, 0), op_depth.get(calls[call].operation, 0))
        op_depth[calls[call].operation] = depth
        node_depth[call] = depth
        for parent, _output in calls[call].inputs:
            node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    for name in inputs:  # inputs no output depends on
        operation = calls[name].operation
        if operation not in op_depth:
            op_depth[operation] = 0
            index[operation] = -1
    return sorted(op_depth, key=lambda op: (-op_depth[op], index[op]))


# ---------------------------------------------------------------------------------------------------------------------
# Writing one module


@dataclass
class _Value:
    """A tensor in the generated ``forward``: its variable, its layout, and its Keras shape (without the batch)."""

    expr: str
    layout: str
    shape: tuple[int | None, ...]
    dtype: str = "float32"
    #: The same tensor already converted to the other layout.
    other: str = ""

    @property
    def rank(self) -> int:
        return len(self.shape) + 1


@dataclass
class _Module:
    """One ``nn.Module`` class being written."""

    name: str
    doc: str
    init: list[str] = field(default_factory=list)
    forward: list[str] = field(default_factory=list)
    arguments: list[str] = field(default_factory=list)
    returns: list[str] = field(default_factory=list)
    taken: set[str] = field(default_factory=lambda: set(_MODULE_NAMES))
    attrs: set[str] = field(default_factory=set)
    #: A block's name and "_": its layers' names without it are their names in the block's class (conv2_block1_1_conv
    #: is 1_conv in every block of the structure).
    prefix: str = ""

    def local(self, name: str) -> str:
        return name[len(self.prefix):] if self.prefix and name.startswith(self.prefix) and len(name) > len(self.prefix) else name


class _Emitter:
    """Writes the classes, the helpers they use and the weight loader for a graph."""

    def __init__(self, graph: NetworkGraph) -> None:
        self.graph = graph
        self.analysis = analyse(graph)
        self.writer = _Writer(graph, self.analysis)
        self.paths = keras_layer_paths(graph.without_blocks() if any(g.kind == "block" for g in graph.groups.values()) else graph)
        self.helpers: set[str] = set()
        self.classes: list[list[str]] = []
        self.loader: list[str] = []
        self.extra: list[str] = []
        self.extra_params = 0
        self.refused: list[str] = []
        self.attr_of: dict[str, str] = {}  # owning node or group -> attribute path from the model
        self.loaded: set[str] = set()  # layers whose weights load_keras_weights already copies
        self.defined: set[tuple[int, str]] = set()  # (module, name) of extra attributes and comments already written
        self.class_names: set[str] = set()
        #: Group -> the class written for it; class -> (input layouts, output layouts) of its forward.
        self.class_of: dict[str, str] = {}
        self.class_layouts: dict[str, tuple[list[str], list[str]]] = {}
        self.class_uses: dict[str, int] = {}
        self.class_docs: dict[str, str] = {}
        #: Blocks of one structure: class -> every block's module, input channels and the placeholder of its creation.
        self.instances: dict[str, list[tuple[_Module, int | None, str]]] = {}
        for repeat in repeated_blocks(graph) if any(g.kind == "block" for g in graph.groups.values()) else []:
            shared = self.class_name(repeat.function)
            by_name = {g.name: gid for gid, g in graph.groups.items()}
            for block in repeat.blocks:
                self.class_of[by_name[block[0]]] = shared
            self.class_uses[by_name[repeat.blocks[0][0]]] = len(repeat.blocks)

    # -- modules ---------------------------------------------------------------------------------------------------

    def class_name(self, name: str) -> str:
        words = re.findall(r"[A-Za-z0-9]+", name)
        base = "".join(w[:1].upper() + w[1:] for w in words) or "Model"
        if base[0].isdigit():
            base = f"Model{base}"
        candidate, i = base, 1
        while candidate in self.class_names or candidate in _RESERVED_CLASSES:
            candidate, i = f"{base}{i}", i + 1
        self.class_names.add(candidate)
        return candidate

    def write_scope(self, scope: str | None, module: _Module, model_path: str, in_layouts: Sequence[str] = ()) -> list[str]:
        """Write the layers of ``scope`` (the model, a nested model or a block) into ``module``; returns the layouts of
        its outputs (the model's own are always channels-last, as Keras returns them)."""
        analysis, graph = self.analysis, self.graph
        nodes = [n for n in analysis.order if _owner_scope(graph, n, scope)]
        values: dict[tuple[str, int], _Value] = {}
        if scope is None:
            for n in analysis.input_nodes:
                node = graph.node(n)
                name = identifier(node.name, module.taken)
                module.arguments.append(name)
                values[(n, 0)] = _Value(name, LAST, tuple(node.params["shape"]), node.params["dtype"])
            outputs = [(n, 0) for n in analysis.output_nodes]
        else:
            ins, outputs = self.writer.boundary(scope)
            for i, (ref, layout) in enumerate(zip(ins, in_layouts)):
                tensor = analysis.results[ref[0]].outputs[ref[1]]
                name = identifier(f"input_{i + 1}" if len(ins) > 1 else "x", module.taken)
                module.arguments.append(name)
                values[ref] = _Value(name, layout, tuple(tensor.shape), tensor.dtype)
        for item in self.writer.scope_order(scope, nodes):
            if item.startswith("group:"):
                self.group_call(item[6:], module, values, model_path)
                continue
            node = graph.node(item)
            if node.type == "Input":
                continue
            try:
                self.layer(node, module, values, model_path)
            except _Unsupported as exc:
                self.refused.append(_("{layer} ({type}): {reason}").format(layer=node.name, type=node.type, reason=exc))
                # Go on with a stand-in for its outputs, so every refused layer is listed at once.
                for i, tensor in enumerate(analysis.results[item].outputs):
                    values[(item, i)] = _Value("refused", LAST, tuple(tensor.shape), tensor.dtype)
        layouts = []
        for ref in outputs:
            value = values.get(ref, _Value("refused", LAST, ()))
            layout = LAST if scope is None or graph.groups[scope].kind == "model" else value.layout
            module.returns.append(_to_layout(module, value, layout))
            layouts.append(layout if value.rank > 2 else LAST)
        return layouts

    def group_call(self, group: str, module: _Module, values: dict[tuple[str, int], _Value], model_path: str) -> None:
        """Call a nested model or a block: a sub-module, its class written once per structure (a nested model called
        again, or blocks of one structure such as DenseNet's 58 ``conv_block``s, share one class)."""
        info = self.graph.groups[group]
        owner = info.shares if info.shares in self.graph.groups else group
        ins, outs = self.writer.boundary(group)
        if any(r not in values for r in ins):
            return  # an input was refused: already said
        key = f"group:{owner}"
        if key not in self.attr_of:
            class_name = self.class_of.get(owner) or self.class_name(self.graph.groups[owner].name)
            self.class_of[owner] = class_name
            known = self.class_layouts.get(class_name)
            in_layouts = known[0] if known else [values[r].layout if values[r].rank > 2 else LAST for r in ins]
            attr = identifier(module.local(self.graph.groups[owner].name), module.attrs | _RESERVED_ATTRS)
            module.attrs.add(attr)
            self.attr_of[key] = f"{model_path}.{attr}"
            doc = self.class_docs.setdefault(class_name, self.class_doc(owner))  # the first block of a structure names it
            inner = _Module(class_name, doc, prefix=f"{info.name}_" if info.kind == "block" else "")
            out_layouts = self.write_scope(owner, inner, f"{model_path}.{attr}", in_layouts)
            if known is None:
                self.class_layouts[class_name] = (in_layouts, out_layouts)
            if owner in self.class_uses or class_name in self.instances:  # one of several blocks of one structure
                if class_name not in self.instances:
                    self.instances[class_name] = []
                    self.classes.append([f"{_SHARED}{class_name}"])  # written once every block is known (`shared_classes`)
                channels = self.analysis.results[ins[0][0]].outputs[ins[0][1]].shape[-1] if len(ins) == 1 else None
                placeholder = f"{_SHARED}{class_name}:{len(self.instances[class_name])}"
                self.instances[class_name].append((inner, channels, placeholder))
                module.init.append(f"self.{attr} = {placeholder}")
            else:
                self.classes.append(_class_lines(inner))
                module.init.append(f"self.{attr} = {class_name}()")
        in_layouts, out_layouts = self.class_layouts[self.class_of[owner]]
        attr = self.attr_of[key].rsplit(".", 1)[1]
        args = [_to_layout(module, values[r], layout) for r, layout in zip(ins, in_layouts)]
        own_outs = self.writer.boundary(owner)[1]
        by_owner = {(self.graph.node(n).shares, o): (n, o) for n, o in outs}
        outs = [by_owner.get(ref, ref) for ref in own_outs] if owner != group else outs
        names = [identifier(module.local(self.graph.node(n).name), module.taken) for n, _o in outs]
        module.forward.append(f"{', '.join(names)} = self.{attr}({', '.join(args)})")
        for name, ref, layout in zip(names, outs, out_layouts):
            tensor = self.analysis.results[ref[0]].outputs[ref[1]]
            values[ref] = _Value(name, layout, tuple(tensor.shape), tensor.dtype)

    def shared_classes(self, top: _Module) -> None:
        """Write each class of blocks of one structure, now that every block is known.

        Blocks of one structure may differ in their input's channels (each DenseNet block adds 32): the numbers that
        are the input's channel count become the class's ``channels`` argument. Blocks that still differ get classes
        of their own.
        """
        calls: dict[str, str] = {}
        for class_name, instances in self.instances.items():
            shared = _with_channels([("\n".join(_class_lines(inner, ", channels")), channels) for inner, channels, _ in instances])
            variants: dict[str, str] = {}
            if shared is not None:  # one class, the input's channels its argument where the blocks differ
                variants[shared] = class_name
                calls.update({placeholder: f"{class_name}({channels})" for _inner, channels, placeholder in instances})
            else:  # one class per distinct text
                for inner, _channels, placeholder in instances:
                    name = variants.setdefault("\n".join(_class_lines(inner)), class_name if not variants else self.class_name(class_name))
                    calls[placeholder] = f"{name}()"
            written = [text.replace(f"class {class_name}(", f"class {name}(", 1) for text, name in variants.items()]
            index = self.classes.index([f"{_SHARED}{class_name}"])
            self.classes[index] = "\n\n\n".join(written).split("\n")
        pattern = re.compile(rf"{_SHARED}\w+:\d+")
        for lines in [*self.classes, top.init]:
            lines[:] = [pattern.sub(lambda m: calls[m.group(0)], line) for line in lines]

    def class_doc(self, group: str) -> str:
        info = self.graph.groups[group]
        if info.kind == "model":
            return _("The nested Keras model {name}.").format(name=_comment(info.name))
        count = len(self.graph.group_members(group))
        uses = self.class_uses.get(group, 1)
        if uses > 1:
            return _("A block of {count} layers, used {uses} times, first as {name}.").format(count=count, uses=uses, name=_comment(info.name))
        return _("The block {name} ({count} layers).").format(name=_comment(info.name), count=count)

    def layer(self, node: Node, module: _Module, values: dict[tuple[str, int], _Value], model_path: str) -> None:
        spec = node.spec
        limits = spec.export_limits(node.params) if spec.export_limits else {}
        if "torch" in limits:
            raise _Unsupported(_(limits["torch"]))
        translate = TRANSLATORS.get(spec.torch)
        if translate is None:
            raise _Unsupported(_("PyTorch has no counterpart LayerLab can write; remove the layer, or export to ONNX, LiteRT or a "
                                 "SavedModel."))
        edges = self.graph.inputs_of(node.id)
        if any(e.is_mask for e in edges):
            raise _Unsupported(_("Keras masks have no PyTorch counterpart; remove the mask input."))
        if any((e.source, e.output) not in values for e in edges):
            return  # its input was refused: already said
        owner = node.shares or node.id
        call = _Translation(self, node, module, [values[(e.source, e.output)] for e in sorted(edges, key=lambda e: e.slot)],
                      owner, model_path)
        translate(call)
        for i, value in enumerate(call.results):
            values[(node.id, i)] = value

    def count_extra(self, amount: int, sentence: str) -> None:
        self.extra_params += amount
        self.extra.append(sentence)


#: Names the generated file defines or imports: no variable of a forward may hide them.
_MODULE_NAMES: set[str] = {"io", "math", "zipfile", "h5py", "np", "torch", "F", "nn", "self", "build_model", "count_parameters",
                 "load_keras_weights"}
#: Marks where a class of blocks of one structure is written once all its blocks are known.
_SHARED = "__layerlab_shared__"
_RESERVED_CLASSES = {"Model", "KerasMultiHeadAttention", "Tensor", "Module"}
_RESERVED_ATTRS = {"forward", "training", "to", "cuda", "cpu", "eval", "train", "parameters", "modules", "children", "apply",
                   "state_dict", "float", "double", "half", "type", "zero_grad", "register_buffer", "register_parameter"}


def _comment(text: str) -> str:
    cleaned = "".join(c if c.isprintable() else " " for c in text)
    return re.sub(r"\s+", " ", cleaned).strip().replace('"""', "'''")[:120]


_NUMBER = re.compile(r"(?<![\w.])(\d+)(?![\w.])")


def _with_channels(texts: list[tuple[str, int | None]]) -> str | None:
    """One class text for blocks whose texts differ only in numbers that are each block's input channels (the
    class then takes ``channels``), or None. Numbers the blocks agree on stay, even where they equal the channels."""
    parts = [_NUMBER.split(text) for text, _channels in texts]
    if any(channels is None for _text, channels in texts) or len({len(p) for p in parts}) != 1:
        return None
    merged = []
    for i, pieces in enumerate(zip(*parts)):
        if len(set(pieces)) == 1:
            merged.append(pieces[0])
        elif i % 2 and all(int(piece) == channels for piece, (_text, channels) in zip(pieces, texts)):
            merged.append("channels")
        else:
            return None
    text = "".join(merged)
    return text if "channels" in text.split("def forward", 1)[0].split("super().__init__()", 1)[1] else None


def _class_lines(module: _Module, init_arguments: str = "") -> list[str]:
    lines = [f"class {module.name}(nn.Module):", f'    """{module.doc}"""', "", f"    def __init__(self{init_arguments}):",
             "        super().__init__()"]
    lines += [f"        {line}" for line in module.init]
    args = ", ".join(["self", *module.arguments])
    lines += ["", f"    def forward({args}):"]
    lines += [f"        {line}" for line in module.forward]
    result = module.returns[0] if len(module.returns) == 1 else f"({', '.join(module.returns)})" if module.returns else "None"
    lines.append(f"        return {result}")
    return lines


def _to_layout(module: _Module, value: _Value, layout: str) -> str:
    """The expression of ``value`` in ``layout``: converted once (a line in forward), then reused."""
    if value.rank <= 2 or value.layout == layout:
        return value.expr
    if not value.other:
        suffix = "cf" if layout == FIRST else "cl"
        name = identifier(f"{value.expr}_{suffix}", module.taken)
        function = "to_channels_first" if layout == FIRST else "to_channels_last"
        module.forward.append(f"{name} = {function}({value.expr})")
        value.other = name
    return value.other


def _axis(layout: str, rank: int, keras_axis: int) -> int:
    """Where the Keras axis ``keras_axis`` (batch included, may be negative) lies in a tensor of ``layout``."""
    axis = keras_axis % rank
    if layout == LAST or rank <= 2 or axis == 0:
        return axis
    return 1 if axis == rank - 1 else axis + 1


class _Translation:
    """What a translator works with: the layer, its inputs, and the lines it adds to the module and the loader."""

    def __init__(self, emitter: _Emitter, node: Node, module: _Module, inputs: list[_Value], owner: str, model_path: str) -> None:
        self.emitter = emitter
        self.node = node
        self.p = node.params
        self.module = module
        self.inputs = inputs
        self.owner = owner
        self.model_path = model_path
        result = emitter.analysis.results[node.id]
        self.outputs = [tuple(t.shape) for t in result.outputs]
        self.output_dtypes = [t.dtype for t in result.outputs]
        self.results: list[_Value] = []
        #: The layer's path in a Keras weights file (``layers/conv2d_3``).
        self.keras_path = emitter.paths.get(owner, "")
        self._attr = ""

    # -- inputs and outputs --------------------------------------------------------------------------------------

    def arg(self, i: int, layout: str) -> str:
        return _to_layout(self.module, self.inputs[i], layout)

    def same_layout(self) -> tuple[list[str], str]:
        """Every input in one layout: the first input's when all agree in layout and rank, else channels-last."""
        first = self.inputs[0]
        layout = first.layout if all(v.layout == first.layout and v.rank == first.rank for v in self.inputs) else LAST
        return [self.arg(i, layout) for i in range(len(self.inputs))], layout

    def out(self, expr: str, layout: str, index: int = 0, name: str = "") -> str:
        """Assign ``expr`` to a new variable holding output ``index`` of the layer."""
        local = self.module.local(self.node.name)
        base = local if index == 0 else f"{local}_{name or index}"
        var = identifier(base, self.module.taken)
        self.module.forward.append(f"{var} = {expr}")
        self.result(var, layout, index)
        return var

    def result(self, var: str, layout: str, index: int = 0) -> None:
        while len(self.results) <= index:
            self.results.append(_Value("", LAST, ()))
        shape = self.outputs[index]
        self.results[index] = _Value(var, layout if len(shape) >= 2 else LAST, shape, self.output_dtypes[index])

    def alias(self, value: _Value, comment: str) -> None:
        """The layer passes its input through (at inference): no code but a comment."""
        self.module.forward.append(f"# {_comment(self.node.name)} ({self.node.type}): {comment}")
        self.results.append(value)

    # -- the module's attribute --------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The layer's name in the module it is written in (without its block's name)."""
        return self.module.local(self.node.name)

    @property
    def first_call(self) -> bool:
        return self.owner not in self.emitter.attr_of

    def attr(self, constructor: str, comment: str = "") -> str:
        """``self.<name>``, defined as ``constructor`` in ``__init__`` the first time the (shared) layer is called."""
        if self.first_call:
            name = identifier(self.module.local(self.emitter.graph.node(self.owner).name), self.module.attrs | _RESERVED_ATTRS)
            self.module.attrs.add(name)
            self.emitter.attr_of[self.owner] = f"{self.model_path}.{name}"
            if comment:
                self.module.init.append(f"# {comment}")
            self.module.init.append(f"self.{name} = {constructor}")
        return "self." + self.emitter.attr_of[self.owner].rsplit(".", 1)[1]

    def load(self, function: str, *arrays: str, sub: str = "vars") -> None:
        """A line of ``load_keras_weights``: ``function(model.<attr>, arrays...)`` with the layer's Keras arrays."""
        if not self.first_call_loaded():
            return
        target = self.emitter.attr_of[self.owner].replace("self.", "model.", 1)
        where = f'arrays["{self.keras_path}/{sub}"]'
        args = ", ".join(a.format(w=where) for a in arrays) if arrays else f"*{where}"
        self.emitter.loader.append(f"{function}({target}, {args})")
        self.emitter.helpers.add(function)

    def load_extra(self, function: str, target: str, index: str, sub: str = "vars") -> None:
        """A loader line for a parameter the layer's module does not hold itself (``self.<name>`` in ``target``)."""
        source = f'arrays["{self.keras_path}/{sub}"]'
        self.emitter.loader.append(f'{function}({target.replace("self", "model", 1)}, {source + index if index else "*" + source})')
        self.emitter.helpers.add(function)

    def first_call_of(self, attribute: str) -> bool:
        """True the first time ``attribute`` is defined in this module (a shared layer's extra parameter, a comment)."""
        key = (id(self.module), attribute)
        if key in self.emitter.defined:
            return False
        self.emitter.defined.add(key)
        return True

    def first_call_loaded(self) -> bool:
        """True the first time the layer's weights are copied (a shared layer's later calls copy nothing)."""
        if self.owner in self.emitter.loaded:
            return False
        self.emitter.loaded.add(self.owner)
        return True

    def helper(self, name: str) -> str:
        self.emitter.helpers.add(name)
        return name


# ---------------------------------------------------------------------------------------------------------------------
# Translators: one per `LayerSpec.torch` key


def _activation(name: str | None, x: str, layout: str, rank: int) -> str:
    """``x`` through Keras's activation ``name`` (softmax, log_softmax and glu act on the channel axis)."""
    dim = -1 if layout == LAST or rank <= 2 else 1
    table = {
        None: x, "linear": x, "relu": f"torch.relu({x})", "sigmoid": f"torch.sigmoid({x})", "tanh": f"torch.tanh({x})",
        "softmax": f"F.softmax({x}, dim={dim})", "log_softmax": f"F.log_softmax({x}, dim={dim})", "glu": f"F.glu({x}, dim={dim})",
        "elu": f"F.elu({x})", "selu": f"F.selu({x})", "gelu": f"F.gelu({x})", "swish": f"F.silu({x})", "silu": f"F.silu({x})",
        "softplus": f"F.softplus({x})", "softsign": f"F.softsign({x})", "relu6": f"F.relu6({x})",
        "leaky_relu": f"F.leaky_relu({x}, 0.2)", "mish": f"F.mish({x})", "hard_sigmoid": f"F.hardsigmoid({x})",
        "hard_silu": f"F.hardswish({x})", "hard_swish": f"F.hardswish({x})", "exponential": f"torch.exp({x})",
        "celu": f"F.celu({x})", "hard_tanh": f"F.hardtanh({x})", "log_sigmoid": f"F.logsigmoid({x})",
        "tanh_shrink": f"F.tanhshrink({x})",
    }
    if name not in table:
        raise _Unsupported(_("activation {name!r} has no PyTorch counterpart LayerLab can write.").format(name=name))
    return table[name]


def _num(value: float) -> str:
    return repr(float(value))


def _ints(values: Sequence[int | None]) -> str:
    return f"({', '.join(str(v) for v in values)}{',' if len(values) == 1 else ''})"


def _dense(c: _Translation) -> None:
    x = c.inputs[0]
    attr = c.attr(f"nn.Linear({x.shape[-1]}, {c.p['units']}{'' if c.p['use_bias'] else ', bias=False'})")
    c.out(_activation(c.p["activation"], f"{attr}({c.arg(0, LAST)})", LAST, x.rank), LAST)
    c.load("copy_dense")


def _embedding(c: _Translation) -> None:
    if c.p["mask_zero"]:
        raise _Unsupported(_("mask_zero makes Keras skip padded steps, which PyTorch's layers cannot; set mask_zero to false."))
    attr = c.attr(f"nn.Embedding({c.p['input_dim']}, {c.p['output_dim']})")
    c.out(f"{attr}({c.arg(0, LAST)})", LAST)
    c.load("copy_embedding")


def _activation_layer(c: _Translation) -> None:
    x = c.inputs[0]
    c.out(_activation(c.p["activation"], x.expr, x.layout, x.rank), x.layout)


def _relu(x: str, layout: str, rank: int, p: Any) -> str:
    maximum, slope, threshold = p["max_value"], p["negative_slope"], p["threshold"]
    if slope == 0 and threshold == 0:
        expr = "F.relu6({x})" if maximum == 6 else "torch.relu({x})" if maximum is None else f"torch.clamp({{x}}, 0.0, {_num(maximum)})"
        return expr.format(x=x)
    expr = f"torch.where({x} >= {_num(threshold)}, {x}, {_num(slope)} * ({x} - {_num(threshold)}))"
    return expr if maximum is None else f"torch.clamp({expr}, max={_num(maximum)})"


def _softmax(c: _Translation) -> None:
    x = c.inputs[0]
    axes = c.p["axis"] if isinstance(c.p["axis"], tuple) else (c.p["axis"],)
    dims = tuple(_axis(x.layout, x.rank, a) for a in axes)
    c.out(f"F.softmax({x.expr}, dim={dims[0] if len(dims) == 1 else dims})" if len(dims) == 1 else
          f"torch.exp({x.expr} - torch.logsumexp({x.expr}, dim={dims}, keepdim=True))", x.layout)


def _prelu(c: _Translation) -> None:
    x = c.inputs[0]
    shared = c.p["shared_axes"] or ()
    shape = tuple(1 if i + 1 in shared else d for i, d in enumerate(x.shape))
    attr = c.attr(f"nn.Parameter(torch.zeros{_ints(shape)})", "PReLU's learned slopes, one per value not shared (Keras's alpha)")
    c.out(f"torch.where({c.arg(0, LAST)} >= 0, {c.arg(0, LAST)}, {attr} * {c.arg(0, LAST)})", LAST)
    c.load("copy_parameter")


def _identity(comment: str) -> Callable[[_Translation], None]:
    def translate(c: _Translation) -> None:
        c.alias(c.inputs[0], comment)

    return translate


def _dropout(c: _Translation) -> None:
    x = c.inputs[0]
    attr = c.attr(f"nn.Dropout({_num(c.p['rate'])})")
    c.out(f"{attr}({x.expr})", x.layout)


def _conv_common(c: _Translation, n: int, x: str) -> tuple[str, str]:
    """The padding argument and the (possibly padded) input of a convolution, as Keras pads."""
    k, s, d = c.p["kernel_size"], c.p["strides"], c.p["dilation_rate"]
    if c.p["padding"] == "causal":
        return "0", f"F.pad({x}, ({(k[0] - 1) * d[0]}, 0))"
    if c.p["padding"] == "same" and max(s) > 1:
        return "0", f"{c.helper('pad_same')}({x}, {_ints(k)}, {_ints(s)}, {_ints(d)})"
    return ('"same"' if c.p["padding"] == "same" else "0"), x


def _conv(c: _Translation) -> None:
    n = len(c.p["kernel_size"])
    x = c.inputs[0]
    padding, xin = _conv_common(c, n, c.arg(0, FIRST))
    k, s, d = c.p["kernel_size"], c.p["strides"], c.p["dilation_rate"]
    args = [str(x.shape[-1]), str(c.p["filters"]), f"kernel_size={_ints(k)}"]
    args += [f"stride={_ints(s)}"] if max(s) > 1 else []
    args += [f"padding={padding}"] if padding != "0" else []
    args += [f"dilation={_ints(d)}"] if max(d) > 1 else []
    args += [f"groups={c.p['groups']}"] if c.p.get("groups", 1) > 1 else []
    args += [] if c.p["use_bias"] else ["bias=False"]
    attr = c.attr(f"nn.Conv{n}d({', '.join(args)})")
    c.out(_activation(c.p["activation"], f"{attr}({xin})", FIRST, x.rank), FIRST)
    c.load("copy_conv")


def _conv_transpose(c: _Translation) -> None:
    from engine.layers.conv import transposed_reaches_past_kernel

    n = len(c.p["kernel_size"])
    x = c.inputs[0]
    if None in x.shape[:n]:
        raise _Unsupported(_("a transposed convolution needs known input sizes to be cropped as Keras crops it; fix the Input's size."))
    k, s, d = c.p["kernel_size"], c.p["strides"], c.p["dilation_rate"]
    sizes = c.outputs[0][:n]
    before = []
    for i in range(n):
        span = d[i] * (k[i] - 1) + 1
        total = max((x.shape[i] - 1) * s[i] + span - sizes[i], 0) if c.p["padding"] == "same" else 0  # type: ignore[operator]
        before.append(total // 2)
    full = tuple((x.shape[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1 for i in range(n))  # type: ignore[operator]
    separate_bias = c.p["use_bias"] and transposed_reaches_past_kernel(c.p)
    args = [str(x.shape[-1]), str(c.p["filters"]), f"kernel_size={_ints(k)}"]
    args += [f"stride={_ints(s)}"] if max(s) > 1 else []
    args += [f"dilation={_ints(d)}"] if max(d) > 1 else []
    args += [] if c.p["use_bias"] and not separate_bias else ["bias=False"]
    comment = ""
    if separate_bias:
        comment = "Keras's output reaches past the kernel's last position (zeros plus the bias): the bias is added after"
    attr = c.attr(f"nn.ConvTranspose{n}d({', '.join(args)})", comment)
    expr = f"{attr}({c.arg(0, FIRST)})"
    if tuple(sizes) != full or any(before):
        expr = f"{c.helper('fit_transposed')}({expr}, {_ints(sizes)}, {_ints(before)})"  # type: ignore[arg-type]
    if separate_bias:
        bias = identifier(f"{attr[5:]}_bias", c.module.attrs | _RESERVED_ATTRS)
        c.module.attrs.add(bias)
        c.module.init.append(f"self.{bias} = nn.Parameter(torch.zeros({c.p['filters']}))")
        expr = f"{expr} + self.{bias}.view(-1{', 1' * n})"
        c.load("copy_conv", "{w}[0]")
        c.load_extra("copy_parameter", f"{c.model_path}.{bias}", "[1]")
    else:
        c.load("copy_conv")
    c.out(_activation(c.p["activation"], expr, FIRST, x.rank), FIRST)


def _depthwise(c: _Translation) -> None:
    n = len(c.p["kernel_size"])
    x = c.inputs[0]
    channels, dm = x.shape[-1], c.p["depth_multiplier"]
    padding, xin = _conv_common(c, n, c.arg(0, FIRST))
    k, s, d = c.p["kernel_size"], c.p["strides"], c.p["dilation_rate"]
    args = [str(channels), str(channels * dm), f"kernel_size={_ints(k)}"]  # type: ignore[operator]
    args += [f"stride={_ints(s)}"] if max(s) > 1 else []
    args += [f"padding={padding}"] if padding != "0" else []
    args += [f"dilation={_ints(d)}"] if max(d) > 1 else []
    args += [f"groups={channels}"]
    if "filters" in c.p:  # separable: the depthwise step, then a 1x1 convolution
        pointwise = [str(channels * dm), str(c.p["filters"]), "kernel_size=1"] + ([] if c.p["use_bias"] else ["bias=False"])  # type: ignore[operator]
        attr = c.attr(f"nn.Sequential(nn.Conv{n}d({', '.join(args)}, bias=False), nn.Conv{n}d({', '.join(pointwise)}))")
        c.load("copy_separable")
    else:
        args += [] if c.p["use_bias"] else ["bias=False"]
        attr = c.attr(f"nn.Conv{n}d({', '.join(args)})")
        c.load("copy_depthwise")
    c.out(_activation(c.p["activation"], f"{attr}({xin})", FIRST, x.rank), FIRST)


def _pool(kind: str) -> Callable[[_Translation], None]:
    def translate(c: _Translation) -> None:
        n = len(c.p["pool_size"])
        k, s = c.p["pool_size"], c.p["strides"] or c.p["pool_size"]
        x = c.arg(0, FIRST)
        if c.p["padding"] == "same":
            if kind == "max":
                expr = f"F.max_pool{n}d({c.helper('pad_same')}({x}, {_ints(k)}, {_ints(s)}, {_ints((1,) * n)}, "
                expr += f"value=float(\"-inf\")), {_ints(k)}, {_ints(s)})"
            else:
                expr = f"{c.helper('average_pool_same')}({x}, {_ints(k)}, {_ints(s)})"
            c.out(expr, FIRST)
            return
        module = "MaxPool" if kind == "max" else "AvgPool"
        stride = "" if tuple(s) == tuple(k) else f", stride={_ints(s)}"
        attr = c.attr(f"nn.{module}{n}d({_ints(k)}{stride})")
        c.out(f"{attr}({x})", FIRST)

    return translate


def _global_pool(kind: str) -> Callable[[_Translation], None]:
    def translate(c: _Translation) -> None:
        x = c.inputs[0]
        dims = tuple(range(2, x.rank)) if x.layout == FIRST and x.rank > 2 else tuple(range(1, x.rank - 1))
        function = "torch.mean" if kind == "average" else "torch.amax"
        keep = ", keepdim=True" if c.p["keepdims"] else ""
        c.out(f"{function}({x.expr}, dim={_ints(dims)}{keep})", x.layout)

    return translate


def _batch_norm(c: _Translation) -> None:
    x = c.inputs[0]
    if c.p["axis"] % x.rank != x.rank - 1:
        raise _Unsupported(_("PyTorch normalises the channel axis only; use axis=-1."))
    n = {2: 1, 3: 1, 4: 2, 5: 3}.get(x.rank)
    if n is None:
        raise _Unsupported(_("PyTorch's batch normalisation takes tensors of rank 2 to 5."))
    channels = x.shape[-1]
    momentum = f"{1 - c.p['momentum']:.10g}"
    affine = c.p["center"] and c.p["scale"]
    args = f"{channels}, eps={_num(c.p['epsilon'])}, momentum={momentum}" + ("" if affine else ", affine=False")
    comment = ""
    if c.first_call_of(f"momentum {momentum}"):  # said once per module
        comment = f"Keras's momentum {c.p['momentum']} is PyTorch's {momentum}: the share of the new batch in the running statistics"
    attr = c.attr(f"nn.BatchNorm{n}d({args})", comment)
    expr = f"{attr}({c.arg(0, FIRST)})"
    names = []
    if not affine:  # one of Keras's gamma and beta without the other: a parameter of its own
        view = f".view(-1{', 1' * (x.rank - 2)})"
        for flag, what, init in (("scale", "gamma", "ones"), ("center", "beta", "zeros")):
            if c.p[flag]:
                name = identifier(f"{attr[5:]}_{what}", c.module.attrs | _RESERVED_ATTRS)
                c.module.attrs.add(name)
                c.module.init.append(f"self.{name} = nn.Parameter(torch.{init}({channels}))")
                expr = f"{expr} * self.{name}{view}" if what == "gamma" else f"{expr} + self.{name}{view}"
                names.append(name)
    c.out(expr, FIRST)
    if affine:
        c.load("copy_batch_norm")
    else:
        c.load("copy_batch_norm", f"mean={{w}}[{len(names)}]", f"variance={{w}}[{len(names) + 1}]")
        for i, name in enumerate(names):
            c.load_extra("copy_parameter", f"{c.model_path}.{name}", f"[{i}]")


def _layer_norm(c: _Translation) -> None:
    x = c.inputs[0]
    axes = sorted({a % x.rank for a in (c.p["axis"] if isinstance(c.p["axis"], tuple) else (c.p["axis"],))})
    if axes != list(range(x.rank - len(axes), x.rank)):
        raise _Unsupported(_("PyTorch normalises the last axes only; normalise the trailing axes."))
    if c.p["center"] and not c.p["scale"]:
        raise _Unsupported(_("PyTorch's LayerNorm has no bias without a scale; set scale to true."))
    shape = tuple(x.shape[a - 1] for a in axes)
    extra = "" if c.p["scale"] and c.p["center"] else ", bias=False" if c.p["scale"] else ", elementwise_affine=False"
    attr = c.attr(f"nn.LayerNorm({_ints(shape) if len(shape) > 1 else shape[0]}, eps={_num(c.p['epsilon'])}{extra})")
    c.out(f"{attr}({c.arg(0, LAST)})", LAST)
    c.load("copy_layer_norm")


def _group_norm(c: _Translation) -> None:
    x = c.inputs[0]
    if c.p["axis"] % x.rank != x.rank - 1:
        raise _Unsupported(_("PyTorch groups the channel axis only; use axis=-1."))
    if c.p["center"] != c.p["scale"]:
        raise _Unsupported(_("PyTorch's GroupNorm has a scale and a bias or neither; set center and scale alike."))
    affine = "" if c.p["scale"] else ", affine=False"
    attr = c.attr(f"nn.GroupNorm({c.p['groups']}, {x.shape[-1]}, eps={_num(c.p['epsilon'])}{affine})")
    c.out(f"{attr}({c.arg(0, FIRST)})", FIRST)
    c.load("copy_layer_norm")


def _unit_norm(c: _Translation) -> None:
    x = c.inputs[0]
    axes = c.p["axis"] if isinstance(c.p["axis"], tuple) else (c.p["axis"],)
    dims = tuple(_axis(x.layout, x.rank, a) for a in axes)
    c.out(f"F.normalize({x.expr}, dim={dims[0] if len(dims) == 1 else dims})", x.layout)


def _flatten(c: _Translation) -> None:
    c.out(f"torch.flatten({c.arg(0, LAST)}, 1)  # in Keras's channels-last order", LAST)


def _reshape(c: _Translation) -> None:
    x = c.arg(0, LAST)
    c.out(f"{x}.reshape({x}.shape[0], {', '.join(str(d) for d in c.p['target_shape'])})", LAST)


def _permute(c: _Translation) -> None:
    c.out(f"{c.arg(0, LAST)}.permute(0, {', '.join(str(d) for d in c.p['dims'])})", LAST)


def _repeat_vector(c: _Translation) -> None:
    c.out(f"{c.arg(0, LAST)}.unsqueeze(1).repeat(1, {c.p['n']}, 1)", LAST)


def _zero_padding(c: _Translation) -> None:
    pads = [v for pair in reversed(c.p["padding"]) for v in pair]
    c.out(f"F.pad({c.arg(0, FIRST)}, {_ints(pads)})", FIRST)


def _cropping(c: _Translation) -> None:
    parts = [f"{a}:{-b if b else ''}" for a, b in c.p["cropping"]]
    c.out(f"{c.arg(0, FIRST)}[:, :, {', '.join(parts)}]", FIRST)


def _upsampling(c: _Translation) -> None:
    size = c.p["size"]
    mode = c.p.get("interpolation", "nearest")
    x = c.arg(0, FIRST)
    if mode == "bilinear":
        c.out(f"F.interpolate({x}, scale_factor={_ints(size)}, mode=\"bilinear\", align_corners=False)", FIRST)
        return
    if mode != "nearest":
        raise _Unsupported(_("interpolation {mode!r} has no exact PyTorch counterpart; use nearest or bilinear.").format(mode=mode))
    expr = x
    for axis, factor in enumerate(size, start=2):
        if factor != 1:
            expr = f"{expr}.repeat_interleave({factor}, dim={axis})"
    c.out(expr, FIRST)


_MERGE_JOIN = {"add": " + ", "subtract": " - ", "multiply": " * "}


def _merge(kind: str) -> Callable[[_Translation], None]:
    def translate(c: _Translation) -> None:
        args, layout = c.same_layout()
        rank = max(v.rank for v in c.inputs)
        # Keras's merge layers give a lower-rank input new axes right after the batch axis before broadcasting.
        args = [a if v.rank == rank else f"{a}[:, {'None, ' * (rank - v.rank)}...]" for a, v in zip(args, c.inputs)]
        if kind in _MERGE_JOIN:
            expr = _MERGE_JOIN[kind].join(args)
        elif kind == "average":
            expr = f"({' + '.join(args)}) / {len(args)}"
        else:
            function = "torch.maximum" if kind == "maximum" else "torch.minimum"
            expr = args[0]
            for a in args[1:]:
                expr = f"{function}({expr}, {a})"
        c.out(expr, layout)

    return translate


def _concatenate(c: _Translation) -> None:
    args, layout = c.same_layout()
    c.out(f"torch.cat([{', '.join(args)}], dim={_axis(layout, c.inputs[0].rank, c.p['axis'])})", layout)


def _rnn(kind: str, bidirectional: bool = False) -> Callable[[_Translation], None]:
    module = "RNN" if kind == "simple_rnn" else kind.upper()  # PyTorch's nn.RNN, nn.LSTM, nn.GRU

    def translate(c: _Translation) -> None:
        p = c.p["layer"]["params"] if bidirectional else c.p
        if p["go_backwards"]:
            raise _Unsupported(_("go_backwards has no PyTorch counterpart; use Bidirectional instead."))
        if kind != "simple_rnn" and (p["activation"] != "tanh" or p["recurrent_activation"] != "sigmoid"):
            raise _Unsupported(_("PyTorch's recurrent layers use tanh and sigmoid only; use Keras's default activations."))
        if kind == "simple_rnn" and p["activation"] not in ("tanh", "relu"):
            raise _Unsupported(_("PyTorch's RNN uses tanh or relu only."))
        reset_before = kind == "gru" and not p["reset_after"]
        if reset_before and bidirectional:
            raise _Unsupported(_("LayerLab writes a bidirectional GRU with reset_after=True (Keras's default) only."))
        if bidirectional and (c.p["merge_mode"] not in ("concat", "sum", "ave", "mul") or p["return_state"]):
            raise _Unsupported(_("LayerLab writes Bidirectional with merge_mode concat, sum, ave or mul and no states."))
        x = c.inputs[0]
        units = p["units"]
        args = [str(x.shape[-1]), str(units)] + ([] if reset_before else ["batch_first=True"])
        args += [] if p["use_bias"] else ["bias=False"]
        args += ["nonlinearity=\"relu\""] if kind == "simple_rnn" and p["activation"] == "relu" else []
        args += ["bidirectional=True"] if bidirectional else []
        gates = {"simple_rnn": 1, "lstm": 4, "gru": 3}[kind]
        cls, loader = f"nn.{module}", "copy_gru" if kind == "gru" else "copy_recurrent"
        if reset_before:  # PyTorch's nn.GRU resets after the recurrent product: a module of the exact Keras formula
            cls, loader = "GRUResetBefore", "copy_gru_reset_before"
            c.emitter.helpers.add(cls)
        comment = ""
        if p["use_bias"] and kind != "gru":  # GRU's reset_after biases are exactly PyTorch's two
            directions = 2 if bidirectional else 1
            extra = directions * gates * units
            comment = (f"PyTorch adds a second bias (bias_hh, {extra:,} numbers) that Keras does not have; "
                       "load_keras_weights sets it to zero")
            c.emitter.count_extra(extra, _("{layer}: PyTorch's second recurrent bias adds {count:,}").format(
                layer=c.node.name, count=extra))
        attr = c.attr(f"{cls}({', '.join(args)})", comment)
        states = [v for v in c.inputs[1:]]
        initial = ""
        if states:
            first = [f"{s.expr}.unsqueeze(0)" for s in states]
            initial = f", ({', '.join(first)})" if kind == "lstm" else f", {first[0]}"
        seq = identifier(f"{c.name}_sequence", c.module.taken)
        state = identifier(f"{c.name}_state", c.module.taken)
        c.module.forward.append(f"{seq}, {state} = {attr}({c.arg(0, LAST)}{initial})")
        hidden = f"{state}[0]" if kind == "lstm" else state
        if bidirectional:
            if c.p["layer"]["params"]["return_sequences"]:
                both = (f"{seq}[..., :{units}]", f"{seq}[..., {units}:]")
                out = seq
            else:
                both = (f"{hidden}[0]", f"{hidden}[1]")
                out = f"torch.cat([{both[0]}, {both[1]}], dim=-1)"
            merged = {"concat": out, "sum": f"{both[0]} + {both[1]}", "ave": f"({both[0]} + {both[1]}) / 2",
                      "mul": f"{both[0]} * {both[1]}"}[c.p["merge_mode"]]
            c.out(merged, LAST)
            c.load(loader, "{w}", f'arrays["{c.keras_path}/backward_layer/cell/vars"]', sub="forward_layer/cell/vars")
            return
        c.out(seq if p["return_sequences"] else f"{seq}[:, -1]", LAST)
        if p["return_state"]:
            if kind == "lstm":
                c.out(f"{state}[0][0]", LAST, 1, "state_h")
                c.out(f"{state}[1][0]", LAST, 2, "state_c")
            else:
                c.out(f"{state}[0]", LAST, 1, "state")
        c.load(loader, "{w}", sub="cell/vars")

    return translate


def _bidirectional(c: _Translation) -> None:
    inner = c.p["layer"]["type"]
    key = get_spec(inner).torch
    if key not in ("simple_rnn", "lstm", "gru"):
        raise _Unsupported(_("LayerLab writes Bidirectional around SimpleRNN, LSTM or GRU only."))
    _rnn(key, bidirectional=True)(c)


def _time_distributed(c: _Translation) -> None:
    inner = c.p["layer"]
    spec = get_spec(inner["type"])
    translate = TRANSLATORS.get(spec.torch)
    if translate is None or spec.torch in ("simple_rnn", "lstm", "gru", "bidirectional", "time_distributed"):
        raise _Unsupported(_("LayerLab cannot write this layer inside TimeDistributed in PyTorch."))
    x = c.inputs[0]
    merged = identifier(f"{c.name}_steps", c.module.taken)
    source = c.arg(0, LAST)
    c.module.forward.append(f"{merged} = {source}.reshape(-1, *{source}.shape[2:])  # every time step as a sample")
    step = _Translation.__new__(_Translation)
    step.__dict__.update(c.__dict__)
    step.p = inner["params"]
    step.inputs = [_Value(merged, LAST, x.shape[1:], x.dtype)]
    step.outputs = [c.outputs[0][1:]]
    step.results = []
    step.keras_path = f"{c.keras_path}/layer"
    translate(step)
    result = _to_layout(c.module, step.results[0], LAST)
    c.out(f"{result}.reshape({source}.shape[0], {source}.shape[1], *{result}.shape[1:])", LAST)


def _multi_head_attention(c: _Translation) -> None:
    p = c.p
    if p["attention_axes"] not in (None, (1,), (-2,)) or p["use_gate"]:
        raise _Unsupported(_("LayerLab writes attention over the sequence axis without a gate only."))
    if any(v.rank != 3 for v in c.inputs):
        raise _Unsupported(_("LayerLab writes attention over (batch, steps, features) tensors only."))
    query, value = c.inputs[0], c.inputs[1]
    key = c.inputs[2] if len(c.inputs) > 2 else value
    value_dim = p["value_dim"] or p["key_dim"]
    out_dim = p["output_shape"][-1] if p["output_shape"] else query.shape[-1]
    if p["output_shape"] and len(p["output_shape"]) != 1:
        raise _Unsupported(_("LayerLab writes attention with a one-axis output_shape only."))
    args = [f"query_dim={query.shape[-1]}", f"key_dim_in={key.shape[-1]}", f"value_dim_in={value.shape[-1]}",
            f"num_heads={p['num_heads']}", f"key_dim={p['key_dim']}", f"value_dim={value_dim}", f"output_dim={out_dim}"]
    args += [] if p["use_bias"] else ["use_bias=False"]
    c.emitter.helpers.add("KerasMultiHeadAttention")
    attr = c.attr(f"KerasMultiHeadAttention({', '.join(args)})")
    call = [c.arg(0, LAST), c.arg(1, LAST)] + ([f"key={c.arg(2, LAST)}"] if len(c.inputs) > 2 else [])
    call += ["causal=True"] if p["use_causal_mask"] else []
    out = identifier(c.name, c.module.taken)
    scores = identifier(f"{c.name}_scores", c.module.taken)
    c.module.forward.append(f"{out}, {scores} = {attr}({', '.join(call)})")
    c.result(out, LAST, 0)
    if p["return_attention_scores"]:
        c.result(scores, LAST, 1)
    if c.first_call_loaded():
        for part in ("query", "key", "value", "output"):
            c.load_extra("copy_attention_dense", f"{c.emitter.attr_of[c.owner]}.{part}", "", sub=f"{part}_dense/vars")


def _attention(kind: str) -> Callable[[_Translation], None]:
    def translate(c: _Translation) -> None:
        p = c.p
        if any(v.rank != 3 for v in c.inputs):
            raise _Unsupported(_("LayerLab writes attention over (batch, steps, features) tensors only."))
        args = [c.arg(i, LAST) for i in range(len(c.inputs))]
        if len(args) == 2:
            args.append(args[1])  # the key defaults to the value
        weights = []
        if p["use_scale"]:
            shape = "()" if kind == "luong" else f"({c.inputs[0].shape[-1]},)"
            weights.append(("scale", c.attr(f"nn.Parameter(torch.ones({shape}))", "the attention's learned scale")))
        if kind == "luong" and p["score_mode"] == "concat":
            concat = identifier(f"{c.name}_concat_score_weight", c.module.attrs | _RESERVED_ATTRS)
            if c.first_call_of(concat):
                c.module.attrs.add(concat)
                c.module.init.append(f"self.{concat} = nn.Parameter(torch.ones(()))")
            weights.append(("concat_weight", f"self.{concat}"))
        keywords = [f"{name}={expr}" for name, expr in weights] + (["causal=True"] if p["use_causal_mask"] else [])
        function = c.helper("luong_attention" if kind == "luong" else "additive_attention")
        out = identifier(c.name, c.module.taken)
        scores = identifier(f"{c.name}_scores", c.module.taken)
        c.module.forward.append(f"{out}, {scores} = {function}({', '.join(args + keywords)})")
        c.result(out, LAST, 0)
        if p["return_attention_scores"]:
            c.result(scores, LAST, 1)
        for index, (_name, expr) in enumerate(weights):
            c.load_extra("copy_parameter", expr, f"[{index}]")

    return translate


def _dot(c: _Translation) -> None:
    x, y = c.inputs[0], c.inputs[1]
    ax, ay = (a % v.rank for a, v in zip(c.p["axes"], (x, y)))
    letters = iter("bcdefghijklmnopqrstuvwxyz")
    xs = ["a"] + [next(letters) for _ in range(x.rank - 1)]
    ys = ["a"] + [xs[ax] if i == ay else next(letters) for i in range(1, y.rank)]
    result = ["a"] + [s for i, s in enumerate(xs) if i not in (0, ax)] + [s for i, s in enumerate(ys) if i not in (0, ay)]
    a, b = c.arg(0, LAST), c.arg(1, LAST)
    if c.p["normalize"]:
        a, b = f"F.normalize({a}, dim={ax})", f"F.normalize({b}, dim={ay})"
    expr = f'torch.einsum("{"".join(xs)},{"".join(ys)}->{"".join(result)}", {a}, {b})'
    if len(result) == 1:  # Keras keeps a (batch, 1) result
        expr += ".unsqueeze(-1)"
    c.out(expr, LAST)


def _rescaling(c: _Translation) -> None:
    x = c.inputs[0]

    def constant(value: Any) -> str:
        return _num(value) if isinstance(value, float) else f"torch.tensor({list(map(float, value))})"

    expr = f"{c.arg(0, LAST)} * {constant(c.p['scale'])}"
    if c.p["offset"] != 0.0:
        expr += f" + {constant(c.p['offset'])}"
    c.out(expr, LAST if x.rank > 2 else x.layout)


def _normalization(c: _Translation) -> None:
    x = c.inputs[0]
    axes = c.p["axis"]
    kept = () if axes is None else tuple(a % x.rank for a in (axes if isinstance(axes, tuple) else (axes,)))
    view = tuple(x.shape[a - 1] if a in kept else 1 for a in range(1, x.rank))
    stored = tuple(x.shape[a - 1] for a in kept)
    if c.p["mean"] is not None:
        mean = f"torch.tensor({list(c.p['mean']) if isinstance(c.p['mean'], tuple) else c.p['mean']}).view(1, *{_ints(view)})"
        variance = f"torch.tensor({list(c.p['variance']) if isinstance(c.p['variance'], tuple) else c.p['variance']})"
        variance += f".view(1, *{_ints(view)})"
    else:
        name = identifier(c.name, c.module.attrs | _RESERVED_ATTRS)
        if c.first_call:
            c.module.attrs.add(name)
            c.emitter.attr_of[c.owner] = f"{c.model_path}.{name}"
            c.module.init.append(f"# Keras's Normalization statistics (set by adapt()), kept as buffers: {c.node.name}")
            size = _ints(stored) if stored else "(())"
            c.module.init.append(f'self.register_buffer("{name}_mean", torch.zeros({size}))')
            c.module.init.append(f'self.register_buffer("{name}_variance", torch.ones({size}))')
            c.module.init.append('self.register_buffer("' + name + '_count", torch.zeros(()))')
            model = c.model_path.replace("self", "model", 1)
            c.emitter.loader.append(f"copy_buffers(({model}.{name}_mean, {model}.{name}_variance, {model}.{name}_count), "
                                    f'arrays["{c.keras_path}/vars"])')
            c.emitter.helpers.add("copy_buffers")
        name = c.emitter.attr_of[c.owner].rsplit(".", 1)[1]
        mean = f"self.{name}_mean.view(1, *{_ints(view)})"
        variance = f"self.{name}_variance.view(1, *{_ints(view)})"
    std = f"torch.clamp(torch.sqrt({variance}), min=1e-07)"
    source = c.arg(0, LAST)
    expr = f"{mean} + {source} * {std}" if c.p["invert"] else f"({source} - {mean}) / {std}"
    c.out(expr, LAST)


def _resizing(c: _Translation) -> None:
    p = c.p
    if p["crop_to_aspect_ratio"] or p["pad_to_aspect_ratio"] or p["antialias"] or p["interpolation"] not in ("bilinear", "nearest"):
        raise _Unsupported(_("LayerLab writes Resizing with bilinear or nearest interpolation, no antialiasing and no cropping "
                             "or padding to the aspect ratio only."))
    mode = '"bilinear", align_corners=False' if p["interpolation"] == "bilinear" else '"nearest-exact"'
    c.out(f"F.interpolate({c.arg(0, FIRST)}, size=({p['height']}, {p['width']}), mode={mode})", FIRST)


def _center_crop(c: _Translation) -> None:
    x = c.inputs[0]
    height, width = x.shape[0], x.shape[1]
    if height is None or width is None or height < c.p["height"] or width < c.p["width"]:
        raise _Unsupported(_("CenterCrop resizes an image smaller than the crop; LayerLab writes it for larger known sizes only."))
    top, left = (height - c.p["height"]) // 2, (width - c.p["width"]) // 2
    c.out(f"{c.arg(0, LAST)}[:, {top}:{top + c.p['height']}, {left}:{left + c.p['width']}]", LAST)


def _layer_scale(c: _Translation) -> None:
    attr = c.attr(f"nn.Parameter(torch.zeros({c.p['projection_dim']}))", "LayerScale's learned per-channel scale (gamma)")
    c.out(f"{c.arg(0, LAST)} * {attr}", LAST)
    c.load("copy_parameter")


def _custom_scale(c: _Translation) -> None:
    args, layout = c.same_layout()
    c.out(f"{args[0]} + {args[1]} * {_num(c.p['scale'])}", layout)


_BINARY = {
    "add": "{a} + {b}", "subtract": "{a} - {b}", "multiply": "{a} * {b}", "divide": "{a} / {b}", "true_divide": "{a} / {b}",
    "power": "torch.pow({a}, {b})", "maximum": "torch.maximum({a}, {b})", "minimum": "torch.minimum({a}, {b})",
    "equal": "{a} == {b}", "not_equal": "{a} != {b}", "greater": "{a} > {b}", "greater_equal": "{a} >= {b}",
    "less": "{a} < {b}", "less_equal": "{a} <= {b}", "logical_and": "torch.logical_and({a}, {b})",
    "logical_or": "torch.logical_or({a}, {b})",
}
_UNARY = {"negative": "-{x}", "abs": "torch.abs({x})", "sqrt": "torch.sqrt({x})", "square": "torch.square({x})",
          "exp": "torch.exp({x})", "log": "torch.log({x})", "logical_not": "torch.logical_not({x})"}
_REDUCE = {"mean": "torch.mean", "sum": "torch.sum", "max": "torch.amax", "min": "torch.amin", "any": "torch.any", "all": "torch.all"}
_DTYPES = {"float16": "torch.float16", "float32": "torch.float32", "float64": "torch.float64", "bfloat16": "torch.bfloat16",
           "int8": "torch.int8", "int16": "torch.int16", "int32": "torch.int32", "int64": "torch.int64", "uint8": "torch.uint8",
           "bool": "torch.bool"}


def _function(c: _Translation) -> str:
    return c.node.type[4:]  # ops.add -> add


def _binary_op(c: _Translation) -> None:
    operand = c.p["operand"]
    if operand is None:
        (a, b), layout = c.same_layout()
    else:
        x = c.inputs[0]
        a, b, layout = x.expr, _num(operand), x.layout
        if _function(c) in ("maximum", "minimum", "power", "logical_and", "logical_or"):
            b = f"torch.tensor({_num(operand)})"
        if c.p["operand_first"]:
            a, b = b, a
    c.out(_BINARY[_function(c)].format(a=a, b=b), layout)


def _unary_op(c: _Translation) -> None:
    x = c.inputs[0]
    c.out(_UNARY[_function(c)].format(x=x.expr), x.layout)


def _reduce_op(c: _Translation) -> None:
    axes = c.p["axis"] if isinstance(c.p["axis"], tuple) else (c.p["axis"],)
    keep = ", keepdim=True" if c.p["keepdims"] else ""
    c.out(f"{_REDUCE[_function(c)]}({c.arg(0, LAST)}, dim={_ints(axes) if len(axes) > 1 else axes[0]}{keep})", LAST)


def _expand_dims(c: _Translation) -> None:
    c.out(f"{c.arg(0, LAST)}.unsqueeze({c.p['axis']})", LAST)


def _squeeze(c: _Translation) -> None:
    x = c.inputs[0]
    axes = c.p["axis"]
    if axes is None:
        axes = tuple(i + 1 for i, d in enumerate(x.shape) if d == 1)
    axes = axes if isinstance(axes, tuple) else (axes,)
    c.out(f"{c.arg(0, LAST)}.squeeze({_ints(axes)})", LAST)


def _cast(c: _Translation) -> None:
    x = c.inputs[0]
    c.out(f"{x.expr}.to({_DTYPES[c.p['dtype']]})", x.layout)


#: ``LayerSpec.torch`` -> how that kind of layer is written in PyTorch.
TRANSLATORS: dict[str, Callable[[_Translation], object]] = {
    "dense": _dense,
    "embedding": _embedding,
    "activation": _activation_layer,
    "relu": lambda c: c.out(_relu(c.inputs[0].expr, c.inputs[0].layout, c.inputs[0].rank, c.p), c.inputs[0].layout),
    "leaky_relu": lambda c: c.out(f"F.leaky_relu({c.inputs[0].expr}, {_num(c.p['negative_slope'])})", c.inputs[0].layout),
    "elu": lambda c: c.out(f"F.elu({c.inputs[0].expr}, {_num(c.p['alpha'])})", c.inputs[0].layout),
    "softmax": _softmax,
    "prelu": _prelu,
    "dropout": _dropout,
    "identity": _identity("acts only while training in Keras; nothing at inference"),
    "augmentation": _identity("random augmentation acts only while training in Keras; nothing at inference"),
    "conv": _conv,
    "conv_transpose": _conv_transpose,
    "depthwise": _depthwise,
    "separable": _depthwise,
    "max_pool": _pool("max"),
    "average_pool": _pool("average"),
    "global_max_pool": _global_pool("max"),
    "global_average_pool": _global_pool("average"),
    "batch_norm": _batch_norm,
    "layer_norm": _layer_norm,
    "group_norm": _group_norm,
    "unit_norm": _unit_norm,
    "flatten": _flatten,
    "reshape": _reshape,
    "permute": _permute,
    "repeat_vector": _repeat_vector,
    "zero_padding": _zero_padding,
    "cropping": _cropping,
    "upsampling": _upsampling,
    "add": _merge("add"),
    "subtract": _merge("subtract"),
    "multiply": _merge("multiply"),
    "average": _merge("average"),
    "maximum": _merge("maximum"),
    "minimum": _merge("minimum"),
    "concatenate": _concatenate,
    "simple_rnn": _rnn("simple_rnn"),
    "lstm": _rnn("lstm"),
    "gru": _rnn("gru"),
    "bidirectional": _bidirectional,
    "time_distributed": _time_distributed,
    "multi_head_attention": _multi_head_attention,
    "attention": _attention("luong"),
    "additive_attention": _attention("additive"),
    "dot": _dot,
    "rescaling": _rescaling,
    "normalization": _normalization,
    "resizing": _resizing,
    "center_crop": _center_crop,
    "layer_scale": _layer_scale,
    "custom_scale": _custom_scale,
    "binary_op": _binary_op,
    "unary_op": _unary_op,
    "reduce_op": _reduce_op,
    "expand_dims": _expand_dims,
    "squeeze": _squeeze,
    "cast": _cast,
}


# ---------------------------------------------------------------------------------------------------------------------
# The helpers the generated code uses (each written only when used), and the whole file

_HELPERS: dict[str, str] = {
    "to_channels_first": '''
def to_channels_first(x):
    """(batch, ..., channels) -> (batch, channels, ...): the layout PyTorch's convolutions take."""
    return torch.movedim(x, -1, 1)
''',
    "to_channels_last": '''
def to_channels_last(x):
    """(batch, channels, ...) -> (batch, ..., channels): the layout of the Keras model."""
    return torch.movedim(x, 1, -1)
''',
    "pad_same": '''
def pad_same(x, kernel_size, strides, dilation, value=0.0):
    """Pad a channels-first x as Keras pads padding="same" with strides: half before, the rest (one more) after."""
    pads = []
    for size, k, s, d in reversed(list(zip(x.shape[2:], kernel_size, strides, dilation))):
        total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads, value=value)
''',
    "average_pool_same": '''
def average_pool_same(x, pool_size, strides):
    """Keras's average pooling with padding="same": the padding is not counted in the average."""
    pool = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[x.dim() - 2]
    ones = torch.ones_like(x[:, :1])
    dilation = (1,) * len(pool_size)
    total = pool(pad_same(x, pool_size, strides, dilation), pool_size, strides)
    return total / pool(pad_same(ones, pool_size, strides, dilation), pool_size, strides)
''',
    "fit_transposed": '''
def fit_transposed(x, sizes, before):
    """Cut a transposed convolution's full output to Keras's size: drop `before` rows at the start of each axis, and
    extend with zeros where Keras's output reaches past the kernel."""
    for axis, (size, start) in enumerate(zip(sizes, before), start=2):
        x = x.narrow(axis, start, min(size, x.shape[axis] - start))
        if x.shape[axis] < size:
            x = F.pad(x, [0, 0] * (x.dim() - axis - 1) + [0, size - x.shape[axis]])
    return x
''',
    "KerasMultiHeadAttention": '''
class KerasMultiHeadAttention(nn.Module):
    """Keras's MultiHeadAttention: per-head projections of query, key and value, scaled dot-product attention over the
    steps, and a projection back. Returns the output and the attention scores (batch, heads, query steps, key steps)."""

    def __init__(self, query_dim, key_dim_in, value_dim_in, num_heads, key_dim, value_dim, output_dim, use_bias=True):
        super().__init__()
        self.num_heads, self.key_dim, self.value_dim = num_heads, key_dim, value_dim
        self.query = nn.Linear(query_dim, num_heads * key_dim, bias=use_bias)
        self.key = nn.Linear(key_dim_in, num_heads * key_dim, bias=use_bias)
        self.value = nn.Linear(value_dim_in, num_heads * value_dim, bias=use_bias)
        self.output = nn.Linear(num_heads * value_dim, output_dim, bias=use_bias)

    def forward(self, query, value, key=None, causal=False):
        key = value if key is None else key
        q = self.query(query).unflatten(-1, (self.num_heads, self.key_dim)).transpose(1, 2)
        k = self.key(key).unflatten(-1, (self.num_heads, self.key_dim)).transpose(1, 2)
        v = self.value(value).unflatten(-1, (self.num_heads, self.value_dim)).transpose(1, 2)
        logits = (q / math.sqrt(self.key_dim)) @ k.transpose(-1, -2)
        if causal:
            allowed = torch.ones(logits.shape[-2:], dtype=torch.bool, device=logits.device).tril()
            logits = logits.masked_fill(~allowed, float("-inf"))
        scores = torch.softmax(logits, dim=-1)
        return self.output((scores @ v).transpose(1, 2).flatten(2)), scores
''',
    "luong_attention": '''
def luong_attention(query, value, key, scale=None, concat_weight=None, causal=False):
    """Keras's Attention: scores query . key (score_mode="concat": tanh(query + key) summed), softmax over the value
    steps. Returns the output and the attention scores."""
    if concat_weight is None:
        scores = query @ key.transpose(-1, -2)
        if scale is not None:
            scores = scores * scale
    else:
        added = query.unsqueeze(-2) + key.unsqueeze(-3)
        scores = concat_weight * torch.tanh(added if scale is None else scale * added).sum(-1)
    return attend(scores, value, causal)
''',
    "additive_attention": '''
def additive_attention(query, value, key, scale=None, causal=False):
    """Keras's AdditiveAttention (Bahdanau): scores tanh(query + key) summed over the features (times a learned scale
    per feature), softmax over the value steps. Returns the output and the attention scores."""
    added = torch.tanh(query.unsqueeze(-2) + key.unsqueeze(-3))
    return attend((added if scale is None else scale * added).sum(-1), value, causal)
''',
    "attend": '''
def attend(scores, value, causal):
    """Softmax over the value steps (a query step sees no later step when causal), then the weighted sum of values."""
    if causal:
        allowed = torch.ones(scores.shape[-2:], dtype=torch.bool, device=scores.device).tril()
        scores = scores.masked_fill(~allowed, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ value, weights
''',
    "GRUResetBefore": '''
class GRUResetBefore(nn.Module):
    """Keras's GRU with reset_after=False: the reset gate scales the previous state before the recurrent product
    (PyTorch's nn.GRU scales after it). Batch first, gates in PyTorch's order (r, z, n), one bias as in Keras."""

    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__()
        self.hidden_size = hidden_size
        self.weight_ih = nn.Parameter(torch.zeros(3 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.zeros(3 * hidden_size, hidden_size))
        self.bias = nn.Parameter(torch.zeros(3 * hidden_size)) if bias else None

    def forward(self, x, state=None):
        h = x.new_zeros(x.shape[0], self.hidden_size) if state is None else state[0]
        w_r, w_z, w_n = self.weight_hh.chunk(3)
        outputs = []
        for step in F.linear(x, self.weight_ih, self.bias).unbind(1):
            x_r, x_z, x_n = step.chunk(3, dim=-1)
            r = torch.sigmoid(x_r + h @ w_r.T)
            z = torch.sigmoid(x_z + h @ w_z.T)
            h = z * h + (1 - z) * torch.tanh(x_n + (r * h) @ w_n.T)
            outputs.append(h)
        return torch.stack(outputs, 1), h.unsqueeze(0)
''',
    "put": '''
def put(tensor, array):
    """Copy a NumPy array into a parameter or buffer, refusing one of another shape."""
    array = torch.as_tensor(np.array(array, order="C"), dtype=tensor.dtype)  # a contiguous copy (0-d stays 0-d)
    if tuple(array.shape) != tuple(tensor.shape):
        raise ValueError(f"Keras weights of shape {tuple(array.shape)} do not fit a PyTorch tensor of shape {tuple(tensor.shape)}")
    tensor.copy_(array)
''',
    "copy_dense": '''
def copy_dense(linear, kernel, bias=None):
    """Keras's (inputs, units) kernel is PyTorch's (units, inputs) weight transposed."""
    put(linear.weight, kernel.T)
    if bias is not None:
        put(linear.bias, bias)
''',
    "copy_embedding": '''
def copy_embedding(embedding, table):
    put(embedding.weight, table)
''',
    "copy_parameter": '''
def copy_parameter(parameter, array):
    put(parameter, array)
''',
    "copy_conv": '''
def copy_conv(conv, kernel, bias=None):
    """Keras's (*kernel_size, in, out) kernel is PyTorch's (out, in, *kernel_size) weight; for a transposed
    convolution Keras's (*kernel_size, out, in) is PyTorch's (in, out, *kernel_size): the same move of axes."""
    n = kernel.ndim - 2
    put(conv.weight, kernel.transpose(n + 1, n, *range(n)))
    if bias is not None:
        put(conv.bias, bias)
''',
    "copy_depthwise": '''
def copy_depthwise(conv, kernel, bias=None):
    """Keras's (*kernel_size, channels, multiplier) kernel is PyTorch's (channels * multiplier, 1, *kernel_size)."""
    n = kernel.ndim - 2
    put(conv.weight, kernel.transpose(n, n + 1, *range(n)).reshape(-1, 1, *kernel.shape[:n]))
    if bias is not None:
        put(conv.bias, bias)
''',
    "copy_separable": '''
def copy_separable(separable, depthwise_kernel, pointwise_kernel, bias=None):
    """Keras's separable convolution: a depthwise kernel, a 1x1 pointwise kernel and the bias."""
    copy_depthwise(separable[0], depthwise_kernel)
    copy_conv(separable[1], pointwise_kernel, bias)
''',
    "copy_batch_norm": '''
def copy_batch_norm(norm, *gamma_beta, mean=None, variance=None):
    """Keras's gamma, beta, moving mean and moving variance (or only the moving statistics, given by name)."""
    if mean is None:
        gamma, beta, mean, variance = gamma_beta
        put(norm.weight, gamma)
        put(norm.bias, beta)
    put(norm.running_mean, mean)
    put(norm.running_var, variance)
''',
    "copy_layer_norm": '''
def copy_layer_norm(norm, *gamma_beta):
    """Keras's gamma (scale) and beta (center), those the layer has."""
    for tensor, array in zip([t for t in (norm.weight, norm.bias) if t is not None], gamma_beta):
        put(tensor, array)
''',
    "copy_buffers": '''
def copy_buffers(buffers, arrays):
    for buffer, array in zip(buffers, arrays):
        put(buffer, np.reshape(array, tuple(buffer.shape)))
''',
    "copy_recurrent": '''
def copy_recurrent(rnn, forward, backward=None):
    """Keras's kernel, recurrent kernel and bias (an LSTM's gates i, f, c, o are PyTorch's i, f, g, o) into
    weight_ih, weight_hh and bias_ih; PyTorch's second bias, bias_hh, which Keras does not have, is zero."""
    for suffix, arrays in (("_l0", forward), ("_l0_reverse", backward)):
        if arrays is None:
            continue
        kernel, recurrent, *bias = arrays
        put(getattr(rnn, "weight_ih" + suffix), kernel.T)
        put(getattr(rnn, "weight_hh" + suffix), recurrent.T)
        if bias:
            put(getattr(rnn, "bias_ih" + suffix), bias[0])
            getattr(rnn, "bias_hh" + suffix).zero_()
''',
    "gru_gates": '''
def gru_gates(array):
    """Keras's GRU gates (z, r, h) on the last axis, in PyTorch's order (r, z, n)."""
    z, r, h = np.split(array, 3, axis=-1)
    return np.concatenate([r, z, h], axis=-1)
''',
    "copy_gru": '''
def copy_gru(gru, forward, backward=None):
    """Keras's GRU with reset_after=True has PyTorch's two biases: the input bias and the recurrent bias."""
    for suffix, arrays in (("_l0", forward), ("_l0_reverse", backward)):
        if arrays is None:
            continue
        kernel, recurrent, *bias = arrays
        put(getattr(gru, "weight_ih" + suffix), gru_gates(kernel).T)
        put(getattr(gru, "weight_hh" + suffix), gru_gates(recurrent).T)
        if bias:
            put(getattr(gru, "bias_ih" + suffix), gru_gates(bias[0][0]))
            put(getattr(gru, "bias_hh" + suffix), gru_gates(bias[0][1]))
''',
    "copy_gru_reset_before": '''
def copy_gru_reset_before(gru, arrays):
    """Keras's GRU with reset_after=False: kernel, recurrent kernel and one bias, gates reordered."""
    kernel, recurrent, *bias = arrays
    put(gru.weight_ih, gru_gates(kernel).T)
    put(gru.weight_hh, gru_gates(recurrent).T)
    if bias:
        put(gru.bias, gru_gates(bias[0]))
''',
    "copy_attention_dense": '''
def copy_attention_dense(linear, kernel, bias=None):
    """Keras's per-head kernel, (features, heads, size) or (heads, size, features), as a Linear's weight."""
    put(linear.weight, kernel.reshape(linear.in_features, linear.out_features).T)
    if bias is not None:
        put(linear.bias, bias.reshape(-1))
''',
    "read_keras_arrays": '''
def read_keras_arrays(path):
    """Every layer's arrays in a Keras 3 model file (.keras archive or .weights.h5), by their path in the file."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            source = io.BytesIO(archive.read("model.weights.h5"))
    else:
        source = path
    arrays = {}
    with h5py.File(source, "r") as file:

        def collect(name, item):
            if isinstance(item, h5py.Group) and name.rsplit("/", 1)[-1] == "vars":
                arrays[name] = [item[str(i)][()] for i in range(len(item))]

        file.visititems(collect)
    return arrays
''',
}

#: Helpers of the model itself (the rest serve load_keras_weights, written after the model).
_MODEL_HELPERS = ("to_channels_first", "to_channels_last", "pad_same", "average_pool_same", "fit_transposed", "KerasMultiHeadAttention",
                  "luong_attention", "additive_attention", "attend", "GRUResetBefore")


_MODULE_NAMES |= set(_HELPERS)


def _helper_source(names: set[str]) -> str:
    return "\n\n\n".join(_HELPERS[name].strip("\n") for name in _HELPERS if name in names)


def torch_refusals(graph: NetworkGraph) -> list[str]:
    """Every layer the PyTorch export refuses, one ``name (type): reason`` each (empty when the design maps)."""
    return _emit(graph)[0].refused


def _emit(graph: NetworkGraph, model_name: str = "model") -> tuple[_Emitter, _Module]:
    if any(n.shares and graph.node(n.shares).group != n.group for n in graph.nodes()):
        graph = graph.without_blocks()  # a layer shared across blocks is one attribute: the blocks are flattened
    emitter = _Emitter(graph)
    top = _Module(emitter.class_name("Model" if model_name == "model" else model_name), "")
    if emitter.analysis.is_valid:
        emitter.write_scope(None, top, "self")
        emitter.shared_classes(top)
    return emitter, top


def generate_torch_code(graph: NetworkGraph, *, title: str = "", model_name: str = "model") -> TorchCode:
    """A readable, ruff-formatted PyTorch module for ``graph``, with ``build_model()`` and ``load_keras_weights()``.

    Raises
    ------
    TorchExportError
        The design has errors, or layers PyTorch cannot reproduce (all of them listed in one line).
    """
    analysis = analyse(graph)
    if not analysis.is_valid:
        first = analysis.errors[0]
        where = f"{graph.node(first.node).name}: " if first.node else ""
        raise TorchExportError(_("The network has {count} error(s); fix them first ({where}{message}).").format(
            count=len(analysis.errors), where=where, message=first.message))
    emitter, top = _emit(graph, model_name)
    if emitter.refused:
        raise TorchExportError(_("PyTorch export cannot take {count} layer(s): {layers}").format(
            count=len(emitter.refused), layers="; ".join(emitter.refused)))
    top.doc = _("The Keras model {name} in PyTorch: it takes and returns channels-last tensors, as the Keras model does.").format(
        name=_comment(title or model_name))
    classes = [*emitter.classes, _class_lines(top)]
    code = "\n".join(line for lines in classes for line in lines)
    used = {name for name in _MODEL_HELPERS if f"{name}(" in code} | set(emitter.helpers)
    if "average_pool_same" in used:
        used.add("pad_same")
    if used & {"luong_attention", "additive_attention"}:
        used.add("attend")
    if "copy_separable" in used:
        used |= {"copy_conv", "copy_depthwise"}
    if used & {"copy_gru", "copy_gru_reset_before"}:
        used.add("gru_gates")
    used |= {"put", "read_keras_arrays"}
    keras_params = analysis.total_params
    torch_params = keras_params + emitter.extra_params
    header = ['"""PyTorch model exported by LayerLab.', "",
              "It takes the same channels-last arrays as the Keras model and returns the same outputs. Copy trained Keras",
              "weights into it with load_keras_weights(model, 'model.keras') (a .keras or .weights.h5 file saved by Keras 3).",
              '"""']
    if title:
        header += ["", f"# Design: {_comment(title)}"]
    if emitter.extra:
        header += ["", f"# PyTorch holds more numbers than Keras: {torch_params:,} parameters where Keras has {keras_params:,}."]
        header += [f"# - {_comment(sentence)}" for sentence in emitter.extra]
    imports = ["import io", "import math", "import zipfile", "", "import h5py", "import numpy as np", "import torch",
               "import torch.nn.functional as F", "from torch import nn"]
    build = ["def build_model():", f'    """The PyTorch model of the design ({torch_params:,} parameters)."""', f"    return {top.name}()"]
    count = ["def count_parameters(model):",
             '    """The numbers the model holds, counted as Keras counts them (normalisation statistics included)."""',
             '    buffers = sum(b.numel() for name, b in model.named_buffers() if not name.endswith("num_batches_tracked"))',
             "    return sum(p.numel() for p in model.parameters()) + buffers"]
    load = ["def load_keras_weights(model, path):",
            '    """Copy the weights of a Keras 3 model of this design (a .keras archive or a .weights.h5 file) into model."""',
            "    arrays = read_keras_arrays(path)",
            "    try:",
            "        with torch.no_grad():",
            *[f"            {line}" for line in emitter.loader or ["pass"]],
            "    except KeyError as missing:",
            '        raise ValueError(f"{path} has no weights at {missing}: is it a Keras model of this design?") from None',
            "    return model"]
    main = ['if __name__ == "__main__":', "    model = build_model()", "    print(model)",
            f'    print(f"{{count_parameters(model):,}} parameters (Keras: {keras_params:,})")']
    parts = ["\n".join(header), "\n".join(imports), _helper_source(used & set(_MODEL_HELPERS)), *("\n".join(c) for c in classes),
             "\n".join(build), "\n".join(count), _helper_source(used - set(_MODEL_HELPERS)), "\n".join(load), "\n".join(main)]
    source = "\n\n\n".join(p.strip("\n") for p in parts if p.strip()) + "\n"
    return TorchCode(ruff_format(source), keras_params, torch_params, tuple(emitter.extra))
