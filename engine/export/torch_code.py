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

How each layer type is written is the layer's spec's ``torch`` key, one translator per key (`engine.export.torch_layers`);
a layer with no key, or with settings PyTorch cannot reproduce, is refused by name (`TorchExportError`).
Generating the code needs neither PyTorch nor TensorFlow.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from engine.i18n import _
from typing import Any

from engine.analysis import analyse
from engine.codegen import _Writer, identifier, repeated_blocks, ruff_format
from engine.export.torch_helpers import HELPERS, MODEL_HELPERS
from engine.export.torch_layers import (
    LAST,
    RESERVED_ATTRS,
    TRANSLATORS,
    ModuleText,
    Translation,
    Unsupported,
    Value,
    comment_text,
    to_layout,
)
from engine.graph import NetworkGraph, Node, default_name

__all__ = ["TorchCode", "TorchExportError", "generate_torch_code", "keras_layer_paths", "torch_refusals"]



class TorchExportError(ValueError):
    """The design cannot be written as PyTorch code; the message lists every refused layer and why."""


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
# Writing the classes


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
        self.instances: dict[str, list[tuple[ModuleText, int | None, str]]] = {}
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

    def write_scope(self, scope: str | None, module: ModuleText, model_path: str, in_layouts: Sequence[str] = ()) -> list[str]:
        """Write the layers of ``scope`` (the model, a nested model or a block) into ``module``; returns the layouts of
        its outputs (the model's own are always channels-last, as Keras returns them)."""
        analysis, graph = self.analysis, self.graph
        nodes = [n for n in analysis.order if _owner_scope(graph, n, scope)]
        values: dict[tuple[str, int], Value] = {}
        if scope is None:
            for n in analysis.input_nodes:
                node = graph.node(n)
                name = identifier(node.name, module.taken)
                module.arguments.append(name)
                values[(n, 0)] = Value(name, LAST, tuple(node.params["shape"]), node.params["dtype"])
            outputs = [(n, 0) for n in analysis.output_nodes]
        else:
            ins, outputs = self.writer.boundary(scope)
            for i, (ref, layout) in enumerate(zip(ins, in_layouts)):
                tensor = analysis.results[ref[0]].outputs[ref[1]]
                name = identifier(f"input_{i + 1}" if len(ins) > 1 else "x", module.taken)
                module.arguments.append(name)
                values[ref] = Value(name, layout, tuple(tensor.shape), tensor.dtype)
        for item in self.writer.scope_order(scope, nodes):
            if item.startswith("group:"):
                self.group_call(item[6:], module, values, model_path)
                continue
            node = graph.node(item)
            if node.type == "Input":
                continue
            try:
                self.layer(node, module, values, model_path)
            except Unsupported as exc:
                self.refused.append(_("{layer} ({type}): {reason}").format(layer=node.name, type=node.type, reason=exc))
                # Go on with a stand-in for its outputs, so every refused layer is listed at once.
                for i, tensor in enumerate(analysis.results[item].outputs):
                    values[(item, i)] = Value("refused", LAST, tuple(tensor.shape), tensor.dtype)
        layouts = []
        for ref in outputs:
            value = values.get(ref, Value("refused", LAST, ()))
            layout = LAST if scope is None or graph.groups[scope].kind == "model" else value.layout
            module.returns.append(to_layout(module, value, layout))
            layouts.append(layout if value.rank > 2 else LAST)
        return layouts

    def group_call(self, group: str, module: ModuleText, values: dict[tuple[str, int], Value], model_path: str) -> None:
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
            attr = identifier(module.local(self.graph.groups[owner].name), module.attrs | RESERVED_ATTRS)
            module.attrs.add(attr)
            self.attr_of[key] = f"{model_path}.{attr}"
            doc = self.class_docs.setdefault(class_name, self.class_doc(owner))  # the first block of a structure names it
            inner = ModuleText(class_name, doc, prefix=f"{info.name}_" if info.kind == "block" else "")
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
        args = [to_layout(module, values[r], layout) for r, layout in zip(ins, in_layouts)]
        own_outs = self.writer.boundary(owner)[1]
        by_owner = {(self.graph.node(n).shares, o): (n, o) for n, o in outs}
        outs = [by_owner.get(ref, ref) for ref in own_outs] if owner != group else outs
        names = [identifier(module.local(self.graph.node(n).name), module.taken) for n, _o in outs]
        module.forward.append(f"{', '.join(names)} = self.{attr}({', '.join(args)})")
        for name, ref, layout in zip(names, outs, out_layouts):
            tensor = self.analysis.results[ref[0]].outputs[ref[1]]
            values[ref] = Value(name, layout, tuple(tensor.shape), tensor.dtype)

    def shared_classes(self, top: ModuleText) -> None:
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
            return _("The nested Keras model {name}.").format(name=comment_text(info.name))
        count = len(self.graph.group_members(group))
        uses = self.class_uses.get(group, 1)
        if uses > 1:
            return _("A block of {count} layers, used {uses} times, first as {name}.").format(count=count, uses=uses, name=comment_text(info.name))
        return _("The block {name} ({count} layers).").format(name=comment_text(info.name), count=count)

    def layer(self, node: Node, module: ModuleText, values: dict[tuple[str, int], Value], model_path: str) -> None:
        spec = node.spec
        limits = spec.export_limits(node.params) if spec.export_limits else {}
        if "torch" in limits:
            raise Unsupported(_(limits["torch"]))
        translate = TRANSLATORS.get(spec.torch)
        if translate is None:
            raise Unsupported(_("PyTorch has no counterpart LayerLab can write; remove the layer, or export to ONNX, LiteRT or a "
                                 "SavedModel."))
        edges = self.graph.inputs_of(node.id)
        if any(e.is_mask for e in edges):
            raise Unsupported(_("Keras masks have no PyTorch counterpart; remove the mask input."))
        if any((e.source, e.output) not in values for e in edges):
            return  # its input was refused: already said
        owner = node.shares or node.id
        call = Translation(self, node, module, [values[(e.source, e.output)] for e in sorted(edges, key=lambda e: e.slot)],
                      owner, model_path)
        translate(call)
        for i, value in enumerate(call.results):
            values[(node.id, i)] = value

    def count_extra(self, amount: int, sentence: str) -> None:
        self.extra_params += amount
        self.extra.append(sentence)


#: Marks where a class of blocks of one structure is written once all its blocks are known.
_SHARED = "__layerlab_shared__"
_RESERVED_CLASSES = {"Model", "KerasMultiHeadAttention", "Tensor", "Module"}


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


def _class_lines(module: ModuleText, init_arguments: str = "") -> list[str]:
    lines = [f"class {module.name}(nn.Module):", f'    """{module.doc}"""', "", f"    def __init__(self{init_arguments}):",
             "        super().__init__()"]
    lines += [f"        {line}" for line in module.init]
    args = ", ".join(["self", *module.arguments])
    lines += ["", f"    def forward({args}):"]
    lines += [f"        {line}" for line in module.forward]
    result = module.returns[0] if len(module.returns) == 1 else f"({', '.join(module.returns)})" if module.returns else "None"
    lines.append(f"        return {result}")
    return lines


# ---------------------------------------------------------------------------------------------------------------------
# The whole file



def _helper_source(names: set[str]) -> str:
    return "\n\n\n".join(HELPERS[name].strip("\n") for name in HELPERS if name in names)


def torch_refusals(graph: NetworkGraph) -> list[str]:
    """Every layer the PyTorch export refuses, one ``name (type): reason`` each (empty when the design maps)."""
    return _emit(graph)[0].refused


def _emit(graph: NetworkGraph, model_name: str = "model") -> tuple[_Emitter, ModuleText]:
    if any(n.shares and graph.node(n.shares).group != n.group for n in graph.nodes()):
        graph = graph.without_blocks()  # a layer shared across blocks is one attribute: the blocks are flattened
    emitter = _Emitter(graph)
    top = ModuleText(emitter.class_name("Model" if model_name == "model" else model_name), "")
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
    top.doc = _("The Keras model {name} in PyTorch.").format(name=comment_text(title or model_name)) + "\n\n    " + _(
        "It takes and returns channels-last tensors, as the Keras model does.") + "\n    "
    classes = [*emitter.classes, _class_lines(top)]
    code = "\n".join(line for lines in classes for line in lines)
    used = {name for name in MODEL_HELPERS if f"{name}(" in code} | set(emitter.helpers)
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
              "It takes the same channels-last arrays as the Keras model and returns the same",
              "outputs. Copy trained Keras weights into it with load_keras_weights(model, path)",
              "(a .keras or .weights.h5 file saved by Keras 3).",
              '"""']
    if title:
        header += ["", f"# Design: {comment_text(title)}"]
    if emitter.extra:
        header += ["", f"# PyTorch holds more numbers than Keras: {torch_params:,} parameters where Keras has {keras_params:,}."]
        header += [f"# - {comment_text(sentence)}" for sentence in emitter.extra]
    used_text = "\n".join([*(line for lines in classes for line in lines), _helper_source(used)])
    imports = ["import io", *(["import math"] if "math." in used_text else []), "import zipfile", "", "import h5py",
               "import numpy as np", "import torch", *(["import torch.nn.functional as F"] if "F." in used_text else []),
               "from torch import nn"]
    build = ["def build_model():", f'    """The PyTorch model of the design ({torch_params:,} parameters)."""', f"    return {top.name}()"]
    count = ["def count_parameters(model):",
             '    """The numbers the model holds, counted as Keras counts them."""',
             '    buffers = sum(b.numel() for name, b in model.named_buffers() if not name.endswith("num_batches_tracked"))',
             "    return sum(p.numel() for p in model.parameters()) + buffers"]
    load = ["def load_keras_weights(model, path):",
            '    """Copy the weights of a Keras 3 file of this design (.keras, .weights.h5)."""',
            "    arrays = read_keras_arrays(path)",
            "    try:",
            "        with torch.no_grad():",
            *[f"            {line}" for line in emitter.loader or ["pass"]],
            "    except KeyError as missing:",
            '        raise ValueError(f"{path} has no weights at {missing}: is it a Keras model of this design?") from None',
            "    return model"]
    main = ['if __name__ == "__main__":', "    model = build_model()", "    print(model)",
            f'    print(f"{{count_parameters(model):,}} parameters (Keras: {keras_params:,})")']
    parts = ["\n".join(header), "\n".join(imports), _helper_source(used & set(MODEL_HELPERS)), *("\n".join(c) for c in classes),
             "\n".join(build), "\n".join(count), _helper_source(used - set(MODEL_HELPERS)), "\n".join(load), "\n".join(main)]
    source = "\n\n\n".join(p.strip("\n") for p in parts if p.strip()) + "\n"
    return TorchCode(ruff_format(source), keras_params, torch_params, tuple(emitter.extra))
