"""How each kind of layer is written in PyTorch: one translator per `LayerSpec.torch` key, and what they write with.

A translator gets a `Translation` (the layer, its inputs as `Value`s with their layout, the `ModuleText` being
written) and adds the layer's attribute to ``__init__``, its lines to ``forward`` and its weights to
``load_keras_weights``, or raises `Unsupported` with the reason and what to do instead. Tensors keep Keras's
channels-last layout unless a PyTorch layer wants its channels first; a tensor is converted once, where needed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from engine.i18n import _
from typing import Any

from engine.codegen import identifier
from engine.export.torch_helpers import HELPERS
from engine.graph import Node
from engine.layers import get_spec

__all__ = ["FIRST", "LAST", "MODULE_NAMES", "RESERVED_ATTRS", "TRANSLATORS", "ModuleText", "Translation", "Unsupported", "Value",
           "comment_text", "to_layout"]

LAST, FIRST = "last", "first"


class Unsupported(Exception):
    """A translator cannot reproduce these settings in PyTorch (the message says which and what to do)."""




@dataclass
class Value:
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
class ModuleText:
    """One ``nn.Module`` class being written."""

    name: str
    doc: str
    init: list[str] = field(default_factory=list)
    forward: list[str] = field(default_factory=list)
    arguments: list[str] = field(default_factory=list)
    returns: list[str] = field(default_factory=list)
    taken: set[str] = field(default_factory=lambda: set(MODULE_NAMES))
    attrs: set[str] = field(default_factory=set)
    #: A block's name and "_": its layers' names without it are their names in the block's class (conv2_block1_1_conv
    #: is 1_conv in every block of the structure).
    prefix: str = ""

    def local(self, name: str) -> str:
        return name[len(self.prefix):] if self.prefix and name.startswith(self.prefix) and len(name) > len(self.prefix) else name


#: Names the generated file defines or imports: no variable of a forward may hide them.
MODULE_NAMES: set[str] = {"io", "math", "zipfile", "h5py", "np", "torch", "F", "nn", "self", "build_model", "count_parameters",
                 "load_keras_weights"} | set(HELPERS)
#: Attributes nn.Module has: no layer's attribute may hide them.
RESERVED_ATTRS = {"forward", "training", "to", "cuda", "cpu", "eval", "train", "parameters", "modules", "children", "apply",
                   "state_dict", "float", "double", "half", "type", "zero_grad", "register_buffer", "register_parameter"}

def comment_text(text: str) -> str:
    cleaned = "".join(c if c.isprintable() else " " for c in text)
    return re.sub(r"\s+", " ", cleaned).strip().replace('"""', "'''")[:120]


def to_layout(module: ModuleText, value: Value, layout: str) -> str:
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


class Translation:
    """What a translator works with: the layer, its inputs, and the lines it adds to the module and the loader.

    ``emitter`` is `engine.export.torch_code`'s writer of the whole file: the analysis, the layers' weight paths,
    the attributes written so far, the loader's lines and the helpers used.
    """

    def __init__(self, emitter: Any, node: Node, module: ModuleText, inputs: list[Value], owner: str, model_path: str) -> None:
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
        self.results: list[Value] = []
        #: The layer's path in a Keras weights file (``layers/conv2d_3``).
        self.keras_path = emitter.paths.get(owner, "")
        self._attr = ""

    # -- inputs and outputs --------------------------------------------------------------------------------------

    def arg(self, i: int, layout: str) -> str:
        return to_layout(self.module, self.inputs[i], layout)

    def same_layout(self) -> tuple[list[str], str]:
        """Every input in one layout: the first input's when all agree in layout and rank, else channels-last."""
        first = self.inputs[0]
        layout = first.layout if all(v.layout == first.layout and v.rank == first.rank for v in self.inputs) else LAST
        return [self.arg(i, layout) for i in range(len(self.inputs))], layout

    def out(self, expr: str, layout: str, index: int = 0, name: str = "") -> str:
        """Assign ``expr`` to a new variable holding output ``index`` of the layer (nothing when no layer reads it)."""
        local = self.module.local(self.node.name)
        base = local if index == 0 else f"{local}_{name or index}"
        var = identifier(base, self.module.taken)
        graph = self.emitter.graph
        if any(e.output == index for e in graph.outputs_of(self.node.id)) or (index == 0 and not graph.outputs_of(self.node.id)):
            self.module.forward.append(f"{var} = {expr}")
        self.result(var, layout, index)
        return var

    def out_with_scores(self, call: str) -> None:
        """``output, scores = call``: an attention layer's output, and its second output when it returns its scores."""
        out = identifier(self.name, self.module.taken)
        scores = identifier(f"{self.name}_scores", self.module.taken)
        self.module.forward.append(f"{out}, {scores} = {call}")
        self.result(out, LAST, 0)
        if self.p["return_attention_scores"]:
            self.result(scores, LAST, 1)

    def result(self, var: str, layout: str, index: int = 0) -> None:
        while len(self.results) <= index:
            self.results.append(Value("", LAST, ()))
        shape = self.outputs[index]
        self.results[index] = Value(var, layout if len(shape) >= 2 else LAST, shape, self.output_dtypes[index])

    def alias(self, value: Value, comment: str) -> None:
        """The layer passes its input through (at inference): no code but a comment."""
        self.module.forward.append(f"# {comment_text(self.name)} ({self.node.type}) {comment}")
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
            name = identifier(self.module.local(self.emitter.graph.node(self.owner).name), self.module.attrs | RESERVED_ATTRS)
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
        raise Unsupported(_("activation {name!r} has no PyTorch counterpart LayerLab can write.").format(name=name))
    return table[name]


def _num(value: float) -> str:
    return repr(float(value))


def _ints(values: Sequence[int | None]) -> str:
    return f"({', '.join(str(v) for v in values)}{',' if len(values) == 1 else ''})"


def _dense(c: Translation) -> None:
    x = c.inputs[0]
    attr = c.attr(f"nn.Linear({x.shape[-1]}, {c.p['units']}{'' if c.p['use_bias'] else ', bias=False'})")
    c.out(_activation(c.p["activation"], f"{attr}({c.arg(0, LAST)})", LAST, x.rank), LAST)
    c.load("copy_dense")


def _embedding(c: Translation) -> None:
    if c.p["mask_zero"]:
        raise Unsupported(_("mask_zero makes Keras skip padded steps, which PyTorch's layers cannot; set mask_zero to false."))
    attr = c.attr(f"nn.Embedding({c.p['input_dim']}, {c.p['output_dim']})")
    c.out(f"{attr}({c.arg(0, LAST)})", LAST)
    c.load("copy_embedding")


def _activation_layer(c: Translation) -> None:
    x = c.inputs[0]
    c.out(_activation(c.p["activation"], x.expr, x.layout, x.rank), x.layout)


def _relu(x: str, layout: str, rank: int, p: Any) -> str:
    maximum, slope, threshold = p["max_value"], p["negative_slope"], p["threshold"]
    if slope == 0 and threshold == 0:
        expr = "F.relu6({x})" if maximum == 6 else "torch.relu({x})" if maximum is None else f"torch.clamp({{x}}, 0.0, {_num(maximum)})"
        return expr.format(x=x)
    expr = f"torch.where({x} >= {_num(threshold)}, {x}, {_num(slope)} * ({x} - {_num(threshold)}))"
    return expr if maximum is None else f"torch.clamp({expr}, max={_num(maximum)})"


def _softmax(c: Translation) -> None:
    x = c.inputs[0]
    axes = c.p["axis"] if isinstance(c.p["axis"], tuple) else (c.p["axis"],)
    dims = tuple(_axis(x.layout, x.rank, a) for a in axes)
    c.out(f"F.softmax({x.expr}, dim={dims[0] if len(dims) == 1 else dims})" if len(dims) == 1 else
          f"torch.exp({x.expr} - torch.logsumexp({x.expr}, dim={dims}, keepdim=True))", x.layout)


def _prelu(c: Translation) -> None:
    x = c.inputs[0]
    shared = c.p["shared_axes"] or ()
    shape = tuple(1 if i + 1 in shared else d for i, d in enumerate(x.shape))
    attr = c.attr(f"nn.Parameter(torch.zeros{_ints(shape)})", "PReLU's learned slopes, one per value not shared (Keras's alpha)")
    c.out(f"torch.where({c.arg(0, LAST)} >= 0, {c.arg(0, LAST)}, {attr} * {c.arg(0, LAST)})", LAST)
    c.load("copy_parameter")


def _identity(comment: str) -> Callable[[Translation], None]:
    def translate(c: Translation) -> None:
        c.alias(c.inputs[0], comment)

    return translate


def _dropout(c: Translation) -> None:
    x = c.inputs[0]
    attr = c.attr(f"nn.Dropout({_num(c.p['rate'])})")
    c.out(f"{attr}({x.expr})", x.layout)


def _conv_common(c: Translation, n: int, x: str) -> tuple[str, str]:
    """The padding argument and the (possibly padded) input of a convolution, as Keras pads."""
    k, s, d = c.p["kernel_size"], c.p["strides"], c.p["dilation_rate"]
    if c.p["padding"] == "causal":
        return "0", f"F.pad({x}, ({(k[0] - 1) * d[0]}, 0))"
    if c.p["padding"] == "same" and max(s) > 1:
        return "0", f"{c.helper('pad_same')}({x}, {_ints(k)}, {_ints(s)}, {_ints(d)})"
    return ('"same"' if c.p["padding"] == "same" else "0"), x


def _conv(c: Translation) -> None:
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


def _conv_transpose(c: Translation) -> None:
    from engine.layers.conv import transposed_reaches_past_kernel

    n = len(c.p["kernel_size"])
    x = c.inputs[0]
    if None in x.shape[:n]:
        raise Unsupported(_("a transposed convolution needs known input sizes to be cropped as Keras crops it; fix the Input's size."))
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
        comment = "bias added after: Keras's output reaches past the kernel"
    attr = c.attr(f"nn.ConvTranspose{n}d({', '.join(args)})", comment)
    expr = f"{attr}({c.arg(0, FIRST)})"
    if tuple(sizes) != full or any(before):
        expr = f"{c.helper('fit_transposed')}({expr}, {_ints(sizes)}, {_ints(before)})"  # type: ignore[arg-type]
    if separate_bias:
        bias = identifier(f"{attr[5:]}_bias", c.module.attrs | RESERVED_ATTRS)
        c.module.attrs.add(bias)
        c.module.init.append(f"self.{bias} = nn.Parameter(torch.zeros({c.p['filters']}))")
        expr = f"{expr} + self.{bias}.view(-1{', 1' * n})"
        c.load("copy_conv", "{w}[0]")
        c.load_extra("copy_parameter", f"{c.model_path}.{bias}", "[1]")
    else:
        c.load("copy_conv")
    c.out(_activation(c.p["activation"], expr, FIRST, x.rank), FIRST)


def _depthwise(c: Translation) -> None:
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


def _pool(kind: str) -> Callable[[Translation], None]:
    def translate(c: Translation) -> None:
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


def _global_pool(kind: str) -> Callable[[Translation], None]:
    def translate(c: Translation) -> None:
        x = c.inputs[0]
        dims = tuple(range(2, x.rank)) if x.layout == FIRST and x.rank > 2 else tuple(range(1, x.rank - 1))
        function = "torch.mean" if kind == "average" else "torch.amax"
        keep = ", keepdim=True" if c.p["keepdims"] else ""
        c.out(f"{function}({x.expr}, dim={_ints(dims)}{keep})", x.layout)

    return translate


def _batch_norm(c: Translation) -> None:
    x = c.inputs[0]
    if c.p["axis"] % x.rank != x.rank - 1:
        raise Unsupported(_("PyTorch normalises the channel axis only; use axis=-1."))
    n = {2: 1, 3: 1, 4: 2, 5: 3}.get(x.rank)
    if n is None:
        raise Unsupported(_("PyTorch's batch normalisation takes tensors of rank 2 to 5."))
    channels = x.shape[-1]
    momentum = f"{1 - c.p['momentum']:.10g}"
    affine = c.p["center"] and c.p["scale"]
    args = f"{channels}, eps={_num(c.p['epsilon'])}, momentum={momentum}" + ("" if affine else ", affine=False")
    comment = ""
    if c.first_call_of(f"momentum {momentum}"):  # said once per module
        comment = f"Keras's momentum {c.p['momentum']} is PyTorch's {momentum} (the new batch's share)"
    attr = c.attr(f"nn.BatchNorm{n}d({args})", comment)
    expr = f"{attr}({c.arg(0, FIRST)})"
    names = []
    if not affine:  # one of Keras's gamma and beta without the other: a parameter of its own
        view = f".view(-1{', 1' * (x.rank - 2)})"
        for flag, what, init in (("scale", "gamma", "ones"), ("center", "beta", "zeros")):
            if c.p[flag]:
                name = identifier(f"{attr[5:]}_{what}", c.module.attrs | RESERVED_ATTRS)
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


def _layer_norm(c: Translation) -> None:
    x = c.inputs[0]
    axes = sorted({a % x.rank for a in (c.p["axis"] if isinstance(c.p["axis"], tuple) else (c.p["axis"],))})
    if axes != list(range(x.rank - len(axes), x.rank)):
        raise Unsupported(_("PyTorch normalises the last axes only; normalise the trailing axes."))
    if c.p["center"] and not c.p["scale"]:
        raise Unsupported(_("PyTorch's LayerNorm has no bias without a scale; set scale to true."))
    shape = tuple(x.shape[a - 1] for a in axes)
    extra = "" if c.p["scale"] and c.p["center"] else ", bias=False" if c.p["scale"] else ", elementwise_affine=False"
    attr = c.attr(f"nn.LayerNorm({_ints(shape) if len(shape) > 1 else shape[0]}, eps={_num(c.p['epsilon'])}{extra})")
    c.out(f"{attr}({c.arg(0, LAST)})", LAST)
    c.load("copy_layer_norm")


def _group_norm(c: Translation) -> None:
    x = c.inputs[0]
    if c.p["axis"] % x.rank != x.rank - 1:
        raise Unsupported(_("PyTorch groups the channel axis only; use axis=-1."))
    if c.p["center"] != c.p["scale"]:
        raise Unsupported(_("PyTorch's GroupNorm has a scale and a bias or neither; set center and scale alike."))
    affine = "" if c.p["scale"] else ", affine=False"
    attr = c.attr(f"nn.GroupNorm({c.p['groups']}, {x.shape[-1]}, eps={_num(c.p['epsilon'])}{affine})")
    c.out(f"{attr}({c.arg(0, FIRST)})", FIRST)
    c.load("copy_layer_norm")


def _unit_norm(c: Translation) -> None:
    x = c.inputs[0]
    axes = c.p["axis"] if isinstance(c.p["axis"], tuple) else (c.p["axis"],)
    dims = tuple(_axis(x.layout, x.rank, a) for a in axes)
    c.out(f"F.normalize({x.expr}, dim={dims[0] if len(dims) == 1 else dims})", x.layout)


def _flatten(c: Translation) -> None:
    c.out(f"torch.flatten({c.arg(0, LAST)}, 1)  # in Keras's channels-last order", LAST)


def _reshape(c: Translation) -> None:
    x = c.arg(0, LAST)
    c.out(f"{x}.reshape({x}.shape[0], {', '.join(str(d) for d in c.p['target_shape'])})", LAST)


def _permute(c: Translation) -> None:
    c.out(f"{c.arg(0, LAST)}.permute(0, {', '.join(str(d) for d in c.p['dims'])})", LAST)


def _repeat_vector(c: Translation) -> None:
    c.out(f"{c.arg(0, LAST)}.unsqueeze(1).repeat(1, {c.p['n']}, 1)", LAST)


def _zero_padding(c: Translation) -> None:
    pads = [v for pair in reversed(c.p["padding"]) for v in pair]
    c.out(f"F.pad({c.arg(0, FIRST)}, {_ints(pads)})", FIRST)


def _cropping(c: Translation) -> None:
    parts = [f"{a}:{-b if b else ''}" for a, b in c.p["cropping"]]
    c.out(f"{c.arg(0, FIRST)}[:, :, {', '.join(parts)}]", FIRST)


def _upsampling(c: Translation) -> None:
    size = c.p["size"]
    mode = c.p.get("interpolation", "nearest")
    x = c.arg(0, FIRST)
    if mode == "bilinear":
        c.out(f"F.interpolate({x}, scale_factor={_ints(size)}, mode=\"bilinear\", align_corners=False)", FIRST)
        return
    if mode != "nearest":
        raise Unsupported(_("interpolation {mode!r} has no exact PyTorch counterpart; use nearest or bilinear.").format(mode=mode))
    expr = x
    for axis, factor in enumerate(size, start=2):
        if factor != 1:
            expr = f"{expr}.repeat_interleave({factor}, dim={axis})"
    c.out(expr, FIRST)


_MERGE_JOIN = {"add": " + ", "subtract": " - ", "multiply": " * "}


def _merge(kind: str) -> Callable[[Translation], None]:
    def translate(c: Translation) -> None:
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


def _concatenate(c: Translation) -> None:
    args, layout = c.same_layout()
    c.out(f"torch.cat([{', '.join(args)}], dim={_axis(layout, c.inputs[0].rank, c.p['axis'])})", layout)


def _rnn(kind: str, bidirectional: bool = False) -> Callable[[Translation], None]:
    module = "RNN" if kind == "simple_rnn" else kind.upper()  # PyTorch's nn.RNN, nn.LSTM, nn.GRU

    def translate(c: Translation) -> None:
        p = c.p["layer"]["params"] if bidirectional else c.p
        if p["go_backwards"]:
            raise Unsupported(_("go_backwards has no PyTorch counterpart; use Bidirectional instead."))
        if kind != "simple_rnn" and (p["activation"] != "tanh" or p["recurrent_activation"] != "sigmoid"):
            raise Unsupported(_("PyTorch's recurrent layers use tanh and sigmoid only; use Keras's default activations."))
        if kind == "simple_rnn" and p["activation"] not in ("tanh", "relu"):
            raise Unsupported(_("PyTorch's RNN uses tanh or relu only."))
        reset_before = kind == "gru" and not p["reset_after"]
        if reset_before and bidirectional:
            raise Unsupported(_("LayerLab writes a bidirectional GRU with reset_after=True (Keras's default) only."))
        if bidirectional and (c.p["merge_mode"] not in ("concat", "sum", "ave", "mul") or p["return_state"]):
            raise Unsupported(_("LayerLab writes Bidirectional with merge_mode concat, sum, ave or mul and no states."))
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
            comment = f"bias_hh: {extra:,} numbers Keras lacks (zero once Keras weights are loaded)"
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


def _bidirectional(c: Translation) -> None:
    inner = c.p["layer"]["type"]
    key = get_spec(inner).torch
    if key not in ("simple_rnn", "lstm", "gru"):
        raise Unsupported(_("LayerLab writes Bidirectional around SimpleRNN, LSTM or GRU only."))
    _rnn(key, bidirectional=True)(c)


def _time_distributed(c: Translation) -> None:
    inner = c.p["layer"]
    spec = get_spec(inner["type"])
    translate = TRANSLATORS.get(spec.torch)
    if translate is None or spec.torch in ("simple_rnn", "lstm", "gru", "bidirectional", "time_distributed"):
        raise Unsupported(_("LayerLab cannot write this layer inside TimeDistributed in PyTorch."))
    x = c.inputs[0]
    merged = identifier(f"{c.name}_steps", c.module.taken)
    source = c.arg(0, LAST)
    c.module.forward.append(f"{merged} = {source}.reshape(-1, *{source}.shape[2:])  # every time step as a sample")
    step = Translation.__new__(Translation)
    step.__dict__.update(c.__dict__)
    step.p = inner["params"]
    step.inputs = [Value(merged, LAST, x.shape[1:], x.dtype)]
    step.outputs = [c.outputs[0][1:]]
    step.results = []
    step.keras_path = f"{c.keras_path}/layer"
    translate(step)
    result = to_layout(c.module, step.results[0], LAST)
    c.out(f"{result}.reshape({source}.shape[0], {source}.shape[1], *{result}.shape[1:])", LAST)


def _multi_head_attention(c: Translation) -> None:
    p = c.p
    if p["attention_axes"] not in (None, (1,), (-2,)) or p["use_gate"]:
        raise Unsupported(_("LayerLab writes attention over the sequence axis without a gate only."))
    if any(v.rank != 3 for v in c.inputs):
        raise Unsupported(_("LayerLab writes attention over (batch, steps, features) tensors only."))
    query, value = c.inputs[0], c.inputs[1]
    key = c.inputs[2] if len(c.inputs) > 2 else value
    value_dim = p["value_dim"] or p["key_dim"]
    out_dim = p["output_shape"][-1] if p["output_shape"] else query.shape[-1]
    if p["output_shape"] and len(p["output_shape"]) != 1:
        raise Unsupported(_("LayerLab writes attention with a one-axis output_shape only."))
    args = [f"query_dim={query.shape[-1]}", f"key_dim_in={key.shape[-1]}", f"value_dim_in={value.shape[-1]}",
            f"num_heads={p['num_heads']}", f"key_dim={p['key_dim']}", f"value_dim={value_dim}", f"output_dim={out_dim}"]
    args += [] if p["use_bias"] else ["use_bias=False"]
    c.emitter.helpers.add("KerasMultiHeadAttention")
    attr = c.attr(f"KerasMultiHeadAttention({', '.join(args)})")
    call = [c.arg(0, LAST), c.arg(1, LAST)] + ([f"key={c.arg(2, LAST)}"] if len(c.inputs) > 2 else [])
    call += ["causal=True"] if p["use_causal_mask"] else []
    c.out_with_scores(f"{attr}({', '.join(call)})")
    if c.first_call_loaded():
        for part in ("query", "key", "value", "output"):
            c.load_extra("copy_attention_dense", f"{c.emitter.attr_of[c.owner]}.{part}", "", sub=f"{part}_dense/vars")


def _attention(kind: str) -> Callable[[Translation], None]:
    def translate(c: Translation) -> None:
        p = c.p
        if any(v.rank != 3 for v in c.inputs):
            raise Unsupported(_("LayerLab writes attention over (batch, steps, features) tensors only."))
        args = [c.arg(i, LAST) for i in range(len(c.inputs))]
        if len(args) == 2:
            args.append(args[1])  # the key defaults to the value
        weights = []
        if p["use_scale"]:
            shape = "()" if kind == "luong" else f"({c.inputs[0].shape[-1]},)"
            weights.append(("scale", c.attr(f"nn.Parameter(torch.ones({shape}))", "the attention's learned scale")))
        if kind == "luong" and p["score_mode"] == "concat":
            concat = identifier(f"{c.name}_concat_score_weight", c.module.attrs | RESERVED_ATTRS)
            if c.first_call_of(concat):
                c.module.attrs.add(concat)
                c.module.init.append(f"self.{concat} = nn.Parameter(torch.ones(()))")
            weights.append(("concat_weight", f"self.{concat}"))
        keywords = [f"{name}={expr}" for name, expr in weights] + (["causal=True"] if p["use_causal_mask"] else [])
        function = c.helper("luong_attention" if kind == "luong" else "additive_attention")
        c.out_with_scores(f"{function}({', '.join(args + keywords)})")
        for index, (_name, expr) in enumerate(weights):
            c.load_extra("copy_parameter", expr, f"[{index}]")

    return translate


def _dot(c: Translation) -> None:
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


def _rescaling(c: Translation) -> None:
    x = c.inputs[0]

    def constant(value: Any) -> str:
        return _num(value) if isinstance(value, float) else f"torch.tensor({list(map(float, value))})"

    expr = f"{c.arg(0, LAST)} * {constant(c.p['scale'])}"
    if c.p["offset"] != 0.0:
        expr += f" + {constant(c.p['offset'])}"
    c.out(expr, LAST if x.rank > 2 else x.layout)


def _normalization(c: Translation) -> None:
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
        name = identifier(c.name, c.module.attrs | RESERVED_ATTRS)
        if c.first_call:
            c.module.attrs.add(name)
            c.emitter.attr_of[c.owner] = f"{c.model_path}.{name}"
            c.module.init.append("# Keras's Normalization statistics (set by adapt()), kept as buffers")
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


def _resizing(c: Translation) -> None:
    p = c.p
    if p["crop_to_aspect_ratio"] or p["pad_to_aspect_ratio"] or p["antialias"] or p["interpolation"] not in ("bilinear", "nearest"):
        raise Unsupported(_("LayerLab writes Resizing with bilinear or nearest interpolation, no antialiasing and no cropping "
                             "or padding to the aspect ratio only."))
    mode = '"bilinear", align_corners=False' if p["interpolation"] == "bilinear" else '"nearest-exact"'
    c.out(f"F.interpolate({c.arg(0, FIRST)}, size=({p['height']}, {p['width']}), mode={mode})", FIRST)


def _center_crop(c: Translation) -> None:
    x = c.inputs[0]
    height, width = x.shape[0], x.shape[1]
    if height is None or width is None or height < c.p["height"] or width < c.p["width"]:
        raise Unsupported(_("CenterCrop resizes an image smaller than the crop; LayerLab writes it for larger known sizes only."))
    top, left = (height - c.p["height"]) // 2, (width - c.p["width"]) // 2
    c.out(f"{c.arg(0, LAST)}[:, {top}:{top + c.p['height']}, {left}:{left + c.p['width']}]", LAST)


def _layer_scale(c: Translation) -> None:
    attr = c.attr(f"nn.Parameter(torch.zeros({c.p['projection_dim']}))", "LayerScale's learned per-channel scale (gamma)")
    c.out(f"{c.arg(0, LAST)} * {attr}", LAST)
    c.load("copy_parameter")


def _custom_scale(c: Translation) -> None:
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


def _function(c: Translation) -> str:
    return c.node.type[4:]  # ops.add -> add


def _binary_op(c: Translation) -> None:
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


def _unary_op(c: Translation) -> None:
    x = c.inputs[0]
    c.out(_UNARY[_function(c)].format(x=x.expr), x.layout)


def _reduce_op(c: Translation) -> None:
    axes = c.p["axis"] if isinstance(c.p["axis"], tuple) else (c.p["axis"],)
    keep = ", keepdim=True" if c.p["keepdims"] else ""
    c.out(f"{_REDUCE[_function(c)]}({c.arg(0, LAST)}, dim={_ints(axes) if len(axes) > 1 else axes[0]}{keep})", LAST)


def _expand_dims(c: Translation) -> None:
    c.out(f"{c.arg(0, LAST)}.unsqueeze({c.p['axis']})", LAST)


def _squeeze(c: Translation) -> None:
    x = c.inputs[0]
    axes = c.p["axis"]
    if axes is None:
        axes = tuple(i + 1 for i, d in enumerate(x.shape) if d == 1)
    axes = axes if isinstance(axes, tuple) else (axes,)
    c.out(f"{c.arg(0, LAST)}.squeeze({_ints(axes)})", LAST)


def _cast(c: Translation) -> None:
    x = c.inputs[0]
    c.out(f"{x.expr}.to({_DTYPES[c.p['dtype']]})", x.layout)


#: ``LayerSpec.torch`` -> how that kind of layer is written in PyTorch.
TRANSLATORS: dict[str, Callable[[Translation], object]] = {
    "dense": _dense,
    "embedding": _embedding,
    "activation": _activation_layer,
    "relu": lambda c: c.out(_relu(c.inputs[0].expr, c.inputs[0].layout, c.inputs[0].rank, c.p), c.inputs[0].layout),
    "leaky_relu": lambda c: c.out(f"F.leaky_relu({c.inputs[0].expr}, {_num(c.p['negative_slope'])})", c.inputs[0].layout),
    "elu": lambda c: c.out(f"F.elu({c.inputs[0].expr}, {_num(c.p['alpha'])})", c.inputs[0].layout),
    "softmax": _softmax,
    "prelu": _prelu,
    "dropout": _dropout,
    "identity": _identity("acts only while training"),
    "augmentation": _identity("augments only while training"),
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


