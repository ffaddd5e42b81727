"""The building blocks of the layer catalogue: `ParamSpec`, `LayerSpec` and the errors rules raise.

A `LayerSpec` is the single source of truth for one Keras layer type: its class name, its parameters
(with Keras's names, defaults and allowed values), how many inputs it takes, and the pure functions that
compute its output shape and parameter count. The palette, the inspector, the analysis, the code
generator and the importer all read from it.

Shapes never include the batch dimension: ``(28, 28, 1)`` means Keras's ``(None, 28, 28, 1)``.
A dimension that is not known until run time is ``None``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = [
    "REQUIRED",
    "INT_MAX",
    "Shape",
    "Tensor",
    "Params",
    "ParamCount",
    "ParamError",
    "ShapeError",
    "ParamSpec",
    "LayerSpec",
    "Window",
    "no_macs",
    "CALL_CONVENTIONS",
    "RECEPTIVE_KINDS",
    "fmt_shape",
    "fmt_int",
    "fmt_count",
    "rank_phrase",
]

Shape = tuple[int | None, ...]
Params = Mapping[str, Any]

#: Largest size LayerLab accepts for any integer parameter (Keras stores sizes as int32).
INT_MAX = 2**31 - 1


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: Marks a parameter that Keras requires (no default).
REQUIRED: Any = _Required()


class Tensor(NamedTuple):
    """What flows along an edge: a shape without the batch axis, and a dtype name."""

    shape: Shape
    dtype: str = "float32"


class ParamCount(NamedTuple):
    """Weights a layer owns, as Keras counts them, and the arithmetic behind the count."""

    trainable: int
    non_trainable: int
    formula: str

    @property
    def total(self) -> int:
        return self.trainable + self.non_trainable


class ParamError(ValueError):
    """A parameter value that Keras would refuse. The message names the parameter and the value."""


class ShapeError(ValueError):
    """A layer cannot be applied to the shapes it receives.

    Parameters
    ----------
    message : str
        What is wrong, in words a student understands.
    hint : str
        How to fix it.
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def fmt_int(n: int) -> str:
    return f"{n:,}"


def fmt_count(n: int, singular: str, plural: str = "") -> str:
    """``1 unit``, ``1,327,104 inputs``: a count with thousands separators and the word in the right number."""
    return f"{n:,} {singular if n == 1 else (plural or singular + 's')}"


def fmt_shape(shape: Shape | None) -> str:
    if shape is None:
        return "?"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


_RANK_WORDS = {
    0: "a scalar per sample",
    1: "a vector (features,)",
    2: "a sequence (steps, features)",
    3: "an image (height, width, channels)",
    4: "a volume (depth, height, width, channels)",
}


def rank_phrase(rank: int) -> str:
    return _RANK_WORDS.get(rank, f"a rank-{rank} tensor")


# ----------------------------------------------------------------------------------------------
# Parameters


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)) and math.isfinite(value)


@dataclass(frozen=True)
class ParamSpec:
    """One constructor argument of a Keras layer.

    ``kind`` is one of:

    ``int``       an integer within ``[minimum, maximum]`` (``None`` allowed when ``optional``)
    ``float``     a finite number within ``[minimum, maximum]`` (``None`` allowed when ``optional``)
    ``bool``      True or False
    ``choice``    one of ``choices`` (strings; ``None`` allowed when ``optional``)
    ``ints``      a tuple of ``length`` integers; a single integer is repeated, as Keras does
    ``shape``     a tuple of any length of positive integers (``None`` entries when ``allow_none``,
                  one ``-1`` when ``allow_infer``)
    ``pads``      ``length`` pairs ``((before, after), ...)``, one per spatial axis; Keras's int and
                  per-axis forms are accepted (``padding2d`` is the 2-D name kept for old files)
    ``layer``     a nested layer ``{"type": ..., "params": {...}}`` whose type is one of ``choices``
                  (``Bidirectional``, ``TimeDistributed``)
    ``floats``    a number or a list of numbers (Normalization's mean and variance)
    ``factor``    a number or a ``(low, high)`` pair (the Random* preprocessing layers)
    ``axes``      an axis or a list of distinct axes (LayerNormalization, Normalization, ops)

    `coerce` turns what a user typed or a file held into the canonical value, or raises `ParamError`.
    """

    name: str
    kind: str
    default: Any = REQUIRED
    doc: str = ""
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    length: int | None = None
    optional: bool = False
    allow_none: bool = False
    allow_infer: bool = False
    #: Minimum and maximum exclusive instead of inclusive (e.g. Dropout's rate < 1).
    exclusive_max: bool = False
    #: Shown in the inspector's "more" section rather than at the top.
    advanced: bool = False

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def coerce(self, value: Any) -> Any:
        """Return the canonical form of ``value`` or raise `ParamError` with a message naming the parameter."""
        if value is None and (self.optional or self.default is None):
            return None
        coerce = getattr(self, f"_coerce_{self.kind}")
        return coerce(value)

    # -- one coercion per kind -------------------------------------------------------------

    def _fail(self, value: Any, expected: str) -> ParamError:
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return ParamError(f"{self.name} must be {expected}, got {shown}")

    def _check_range(self, value: float, value_shown: Any = None) -> None:
        lo, hi = self.minimum, self.maximum
        if lo is not None and value < lo:
            raise self._fail(value if value_shown is None else value_shown, f"at least {lo:g}")
        if hi is not None and (value >= hi if self.exclusive_max else value > hi):
            bound = f"less than {hi:g}" if self.exclusive_max else f"at most {hi:g}"
            raise self._fail(value if value_shown is None else value_shown, bound)

    def _int_bounds(self) -> tuple[float, float]:
        lo = -INT_MAX if self.minimum is None else self.minimum
        hi = INT_MAX if self.maximum is None else self.maximum
        return lo, hi

    def _coerce_int(self, value: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not _is_int(value):
            raise self._fail(value, "a whole number")
        lo, hi = self._int_bounds()
        if value < lo:
            raise self._fail(value, f"at least {lo:g}")
        if value > hi:
            raise self._fail(value, f"at most {hi:,.0f}")
        return int(value)

    def _coerce_float(self, value: Any) -> float:
        if not _is_number(value):
            raise self._fail(value, "a finite number")
        self._check_range(float(value))
        return float(value)

    def _coerce_bool(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self._fail(value, "true or false")
        return value

    def _coerce_choice(self, value: Any) -> str:
        if not isinstance(value, str) or value not in self.choices:
            raise self._fail(value, "one of " + ", ".join(self.choices))
        return value

    def _coerce_ints(self, value: Any) -> tuple[int, ...]:
        n = self.length or 1
        if _is_int(value):
            value = (value,) * n
        if not isinstance(value, (list, tuple)) or len(value) != n or not all(_is_int(v) for v in value):
            raise self._fail(value, f"a whole number or {n} whole numbers")
        lo, hi = self._int_bounds()
        for v in value:
            if v < lo:
                raise self._fail(tuple(value), f"made of numbers of at least {lo:g}")
            if v > hi:
                raise self._fail(tuple(value), f"made of numbers of at most {hi:,.0f}")
        return tuple(int(v) for v in value)

    def _coerce_shape(self, value: Any) -> tuple[int | None, ...]:
        if _is_int(value):
            value = (value,)
        if not isinstance(value, (list, tuple)) or len(value) > 32:
            raise self._fail(value, "a list of sizes such as [28, 28, 1]")
        out: list[int | None] = []
        for v in value:
            if v is None and self.allow_none:
                out.append(None)
            elif _is_int(v) and v == -1 and self.allow_infer:
                out.append(-1)
            elif _is_int(v) and 1 <= v <= INT_MAX:
                out.append(int(v))
            else:
                allowed = "positive sizes" + (", null" if self.allow_none else "") + (", or one -1" if self.allow_infer else "")
                raise self._fail(value, f"a list of {allowed}")
        if out.count(-1) > 1:
            raise self._fail(value, "a list with at most one -1")
        if self.minimum is not None and len(out) < self.minimum:
            raise self._fail(value, f"a list of at least {self.minimum:g} sizes")
        return tuple(out)

    def _coerce_padding2d(self, value: Any) -> tuple[tuple[int, int], ...]:
        return self._coerce_pads(value)

    def _coerce_pads(self, value: Any) -> tuple[tuple[int, int], ...]:
        n = self.length or 2
        forms = {1: "n or [before, after]", 2: "n, [rows, cols] or [[top, bottom], [left, right]]"}.get(
            n, "n, one size per axis, or one [before, after] pair per axis"
        )

        def pair(v: Any) -> tuple[int, int]:
            if _is_int(v):
                return (v, v)
            if isinstance(v, (list, tuple)) and len(v) == 2 and all(_is_int(x) for x in v):
                return (int(v[0]), int(v[1]))
            raise self._fail(value, forms)

        if _is_int(value):
            result = ((value, value),) * n
        elif n == 1 and isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_int(x) for x in value):
            result = ((int(value[0]), int(value[1])),)  # Keras 1-D: (left, right)
        elif n == 1 and isinstance(value, (list, tuple)) and len(value) == 1:
            result = (pair(value[0]),)
        elif isinstance(value, (list, tuple)) and len(value) == n and n > 1:
            result = tuple(pair(v) for v in value)
        else:
            raise self._fail(value, forms)
        for a, b in result:
            if not (0 <= a <= INT_MAX and 0 <= b <= INT_MAX):
                raise self._fail(value, "made of sizes between 0 and 2,147,483,647")
        return tuple((int(a), int(b)) for a, b in result)

    def _coerce_floats(self, value: Any) -> float | tuple[float, ...]:
        if _is_number(value):
            return float(value)
        if isinstance(value, (list, tuple)) and 0 < len(value) <= 100_000 and all(_is_number(v) for v in value):
            return tuple(float(v) for v in value)
        raise self._fail(value, "a number or a list of numbers")

    def _coerce_factor(self, value: Any) -> float | tuple[float, float]:
        if _is_number(value):
            self._check_range(abs(float(value)), value)
            return float(value)
        if isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_number(v) for v in value):
            low, high = float(value[0]), float(value[1])
            if low > high:
                raise self._fail(value, "a (low, high) pair with low <= high")
            for v in (low, high):
                self._check_range(abs(v), value)
            return (low, high)
        raise self._fail(value, "a number or a (low, high) pair")

    def _coerce_axes(self, value: Any) -> int | tuple[int, ...]:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if _is_int(value):
            if abs(value) > 64:
                raise self._fail(value, "an axis between -64 and 64")
            return int(value)
        if isinstance(value, (list, tuple)) and 0 < len(value) <= 64 and all(_is_int(v) and abs(v) <= 64 for v in value):
            if len(set(value)) != len(value):
                raise self._fail(value, "a list of distinct axes")
            return tuple(int(v) for v in value)
        raise self._fail(value, "an axis or a list of axes such as [1, 2]")

    def layer_choices(self) -> tuple[str, ...]:
        """The layer types a ``layer`` parameter can wrap (``("*",)`` in the spec means any one-input layer)."""
        from engine.layers import CATALOGUE

        if self.choices != ("*",):
            return self.choices
        return tuple(
            t for t, spec in CATALOGUE.items()
            if spec.call in ("single", "named") and spec.min_inputs == 1 and not any(q.kind == "layer" for q in spec.params)
        )

    def _coerce_layer(self, value: Any) -> dict[str, Any]:
        from engine.layers import get_spec  # the registry imports this module

        if not isinstance(value, Mapping) or not isinstance(value.get("type"), str):
            raise self._fail(value, 'a layer such as {"type": "LSTM", "params": {"units": 64}}')
        if value["type"] not in self.layer_choices():
            shown = "any one-input layer" if self.choices == ("*",) else ", ".join(self.choices)
            raise self._fail(value["type"], "a layer type it can wrap (" + shown + ")")
        params = value.get("params", {})
        if not isinstance(params, Mapping):
            raise self._fail(params, "a mapping of parameters")
        inner = get_spec(value["type"])
        try:
            canonical = inner.coerce_params(params)
        except ParamError as exc:
            raise ParamError(f"{self.name}.{exc}") from None
        return {"type": value["type"], "params": canonical}


# ----------------------------------------------------------------------------------------------
# Layers

ShapeRule = Callable[[Params, Sequence[Tensor]], Shape]
CountRule = Callable[[Params, Sequence[Shape], Shape], ParamCount]
WarnRule = Callable[[Params, Sequence[Tensor]], Sequence[tuple[str, str]]]
LabelRule = Callable[[Params], str]
DtypeRule = Callable[[Params, Sequence[Tensor]], str]


MacsRule = Callable[[Params, Sequence[Shape], Shape], tuple[int, str]]
InputFix = Callable[[Sequence[tuple[str, str, Params]]], str]
OutputsRule = Callable[[Params, Sequence[Tensor], Shape], Sequence[Tensor]]


def _no_weights(p: Params, inputs: Sequence[Shape], output: Shape) -> ParamCount:
    return ParamCount(0, 0, "no weights")


def no_macs(p: Params, inputs: Sequence[Shape], output: Shape) -> tuple[int, str]:
    """Multiply-adds of a layer that does no multiply-adds (reshaping, pooling, element-wise)."""
    return 0, "no multiply-adds"


class Window(NamedTuple):
    """A sliding window over the spatial axes: what the output-size arithmetic and the receptive field read."""

    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: str


#: How a layer is called in Keras code: ``layer(x)``, ``layer([a, b])``, ``layer(query, value, key=...)``
#: (inputs by name, the first ones positional), a ``keras.ops`` function, or ``keras.Input``.
CALL_CONVENTIONS = ("single", "list", "named", "op", "input")

#: What a layer does to the receptive field: keeps it (element-wise), grows it by its `Window`, grows it as a
#: transposed convolution, divides the jump (upsampling), or makes it undefined (``receptive_reason`` says why).
RECEPTIVE_KINDS = ("keep", "window", "transpose", "upsample", "undefined")


@dataclass(frozen=True)
class LayerSpec:
    """Everything LayerLab knows about one Keras layer type.

    Attributes
    ----------
    type : str
        The Keras class name (``keras.layers.<type>``); ``Input`` stands for ``keras.Input``.
    family : str
        Palette group: Core, Activation, Convolution, Pooling, Normalization, Regularization,
        Reshaping, Recurrent, Merge.
    doc : str
        One sentence a student reads in the palette tooltip.
    params : tuple of ParamSpec
        Constructor arguments, in Keras's order.
    shape_rule : callable
        ``(params, inputs) -> output shape``; raises `ShapeError` for inputs the layer cannot take.
    count_rule : callable
        ``(params, input_shapes, output_shape) -> ParamCount``.
    min_inputs, max_inputs : int
        Arity; ``max_inputs=None`` means any number (merge layers).
    keeps_dtype : bool
        Output dtype equals the first input's (reshaping layers); otherwise float32.
    warn_rule : callable, optional
        ``(params, inputs) -> [(message, hint)]`` for legal but suspicious inputs.
    label_rule : callable, optional
        ``params -> str``: the key parameters shown on a canvas node, e.g. ``64 @ 3x3, s2, same``.
    dtype_rule : callable, optional
        ``(params, inputs) -> dtype`` where the output dtype is neither float32 nor the input's.
    """

    type: str
    family: str
    doc: str
    params: tuple[ParamSpec, ...]
    shape_rule: ShapeRule
    count_rule: CountRule = _no_weights
    min_inputs: int = 1
    max_inputs: int | None = 1
    keeps_dtype: bool = False
    warn_rule: WarnRule | None = None
    label_rule: LabelRule | None = None
    dtype_rule: DtypeRule | None = None
    #: Diagnostic code of the warnings ``warn_rule`` gives.
    warn_code: str = "suspicious"
    #: ``(params, input_shapes, output_shape) -> (multiply-adds per sample, formula)``; `no_macs` for none.
    macs_rule: MacsRule | None = None
    #: ``params -> Window`` for layers that slide a window (convolutions, pooling).
    window_rule: Callable[[Params], Window] | None = None
    #: One of `RECEPTIVE_KINDS`; ``receptive_reason`` explains an undefined receptive field.
    receptive: str = ""
    receptive_reason: str = ""
    #: ``params -> activation name`` applied to the output (None: no activation; derived from an
    #: ``activation`` parameter when there is one).
    output_activation: Callable[[Params], str | None] | None = None
    #: Names of the input slots, in slot order (``query``, ``value``, ``key``); empty for one input or a list.
    input_names: tuple[str, ...] = ()
    #: ``params -> names of the outputs`` (``output``, ``state_h``, ...); one ``output`` by default.
    output_names: Callable[[Params], tuple[str, ...]] | None = None
    #: ``(params, inputs, first output shape) -> every output`` for layers with several outputs.
    outputs_rule: OutputsRule | None = None
    #: One of `CALL_CONVENTIONS`; derived from the arity when empty.
    call: str = ""
    #: Parameters Keras takes when the layer is called, not when it is built (``return_attention_scores``).
    call_params: tuple[str, ...] = ()
    #: How the layer joins branches, for exercises: ``"sum"`` (a residual: Add, x + y) or ``"concat"``; empty otherwise.
    merge_kind: str = ""
    #: A wrapper holds this many copies of the wrapped layer's weights (Bidirectional 2, TimeDistributed 1); 0: not a wrapper.
    wrapped_copies: int = 0
    #: Global pooling: ``(how, spatial axes)`` (``("average", 2)`` for GlobalAveragePooling2D), what turns a feature map into a vector.
    global_pool: tuple[str, int] | None = None
    #: Config keys of older Keras versions and the parameter each became (Keras 2's LeakyReLU ``alpha``).
    import_aliases: Mapping[str, str] = field(default_factory=dict)
    #: Takes true/false tensors (masks); other layers refuse them, as Keras does when it builds the model.
    accepts_bool: bool = False
    #: ``[(name, type, params) of the layer feeding each input] -> hint`` for a shape error whose fix lies in the
    #: layer before (an LSTM after an LSTM without ``return_sequences=True``); "" keeps the shape rule's hint.
    input_fix: InputFix | None = None
    #: The inputs can be swapped without changing the result (Add, Multiply ...): the canvas does not number them.
    commutative: bool = False
    #: Where the class lives: ``keras.layers`` for layers, ``keras.ops`` for operations, ``keras.applications``
    #: for the layers the applications register for themselves.
    keras_module: str = "keras.layers"
    #: The class name Keras saves, when it differs from ``type`` (operations: ``ops.add`` is saved as ``Add``).
    keras_name: str = ""
    #: ``params -> {format: reason}`` for the export formats (``onnx``, ``litert``, ``saved_model``, ``torch``) that cannot
    #: take the layer with these settings; the reason is one sentence ending with what to do instead.
    export_limits: Callable[[Params], Mapping[str, str]] | None = None
    #: How the PyTorch export writes the layer: the key of its translator in ``engine.export.torch_layers.TRANSLATORS``
    #: (``conv``, ``max_pool``, ``lstm`` ...); empty when the layer has no PyTorch counterpart (refused by name).
    torch: str = ""
    _by_name: dict[str, ParamSpec] = field(default_factory=dict, init=False, repr=False, compare=False)
    _coerced: dict[tuple[str, bool], dict[str, Any]] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    @property
    def _nested_params(self) -> bool:
        return any(p.kind == "layer" for p in self.params)

    def __post_init__(self) -> None:
        self._by_name.update({p.name: p for p in self.params})
        if not self.call:
            call = "input" if self.max_inputs == 0 else "single" if self.max_inputs == 1 else "named" if self.input_names else "list"
            object.__setattr__(self, "call", call)
        if self.output_activation is None and "activation" in self._by_name:
            object.__setattr__(self, "output_activation", _activation_param)
        if self.macs_rule is None and self.count_rule is _no_weights:
            object.__setattr__(self, "macs_rule", no_macs)

    @property
    def keras_class(self) -> str:
        """The class Keras reports for this layer (``Input`` builds an ``InputLayer``)."""
        return "InputLayer" if self.type == "Input" else (self.keras_name or self.type)

    @property
    def is_merge(self) -> bool:
        """Called on a list of tensors (``Add()([a, b])``): slots 0, 1, ... are the list's items."""
        return self.call == "list"

    @property
    def order_matters(self) -> bool:
        """Several inputs whose order changes the result: the canvas numbers them."""
        return self.max_inputs != 1 and self.max_inputs != 0 and not self.commutative

    def activation(self, params: Params) -> str | None:
        """The activation applied to the output, or None."""
        return self.output_activation(params) if self.output_activation else None

    def outputs(self, params: Params, inputs: Sequence[Tensor], first: Tensor) -> tuple[Tensor, ...]:
        """Every output of the layer (most layers have one)."""
        if self.outputs_rule is None:
            return (first,)
        return (first, *self.outputs_rule(params, inputs, first.shape))

    def output_labels(self, params: Params) -> tuple[str, ...]:
        return self.output_names(params) if self.output_names else ("output",)

    def input_label(self, slot: int) -> str:
        """How input ``slot`` is called on the canvas: ``query``, ``initial state 2``, ``input 3``."""
        if slot < len(self.input_names):
            name = self.input_names[slot].replace("_", " ")
            if "[" in name:
                base, index = name.rstrip("]").split("[")
                return f"{base} {int(index) + 1}"
            return name
        return f"input {slot + 1}" if self.max_inputs != 1 else "input"

    def param(self, name: str) -> ParamSpec:
        return self._by_name[name]

    def has_param(self, name: str) -> bool:
        return name in self._by_name

    def defaults(self) -> dict[str, Any]:
        """Every parameter at its default; required ones get a sensible starting value."""
        return self.coerce_params({})

    def output_dtype(self, params: Params, inputs: Sequence[Tensor]) -> str:
        if self.dtype_rule is not None:
            return self.dtype_rule(params, inputs)
        if self.keeps_dtype and inputs:
            return inputs[0].dtype
        return "float32"

    def coerce_params(self, given: Mapping[str, Any], *, fill_required: bool = True) -> dict[str, Any]:
        """Validate ``given`` against the spec and return a complete canonical parameter dict (a new one each time).

        Unknown names and invalid values raise `ParamError`. Missing required parameters get a
        starting value when ``fill_required`` (new nodes), else raise.
        """
        # A design repeats a few settings many times (DenseNet121: 429 layers, 15 settings), and a file's are
        # coerced twice (the loader, then the graph): results are kept by the settings' repr, which tells 1, 1.0
        # and True apart.
        key = (repr(given), fill_required)
        done = self._coerced.get(key)
        if done is None:
            done = self._coerce_params(given, fill_required)
            if len(self._coerced) >= 1024:
                self._coerced.clear()
            self._coerced[key] = done
        if self._nested_params:  # a wrapper's layer is a dict: each caller gets its own
            return {k: copy.deepcopy(v) if isinstance(v, dict) else v for k, v in done.items()}
        return dict(done)

    def _coerce_params(self, given: Mapping[str, Any], fill_required: bool) -> dict[str, Any]:
        unknown = [k for k in given if k not in self._by_name]
        if unknown:
            raise ParamError(f"{unknown[0]} is not a parameter of {self.type}")
        out: dict[str, Any] = {}
        for p in self.params:
            if p.name in given:
                out[p.name] = p.coerce(given[p.name])
            elif not p.required:
                out[p.name] = p.default
            elif fill_required and p.name in _STARTER:
                starter = {"type": "Dense", "params": {"units": 32}} if p.kind == "layer" and p.choices == ("*",) else _STARTER[p.name]
                out[p.name] = p.coerce(starter)
            else:
                raise ParamError(f"{p.name} is required for {self.type}")
        return out

    def label(self, params: Params) -> str:
        return self.label_rule(params) if self.label_rule else ""


def _activation_param(p: Params) -> str | None:
    act = p.get("activation")
    return None if act in (None, "linear") else act


#: Starting values for Keras's required arguments when a user drops a fresh layer on the canvas.
_STARTER: dict[str, Any] = {
    "units": 32,
    "filters": 32,
    "kernel_size": 3,
    "pool_size": 2,
    "rate": 0.5,
    "activation": "relu",
    "target_shape": (-1,),
    "dims": (2, 1),
    "input_dim": 1000,
    "output_dim": 64,
    "layer": {"type": "LSTM", "params": {"units": 32}},
    "num_heads": 2,
    "key_dim": 16,
    "height": 64,
    "width": 64,
    "n": 3,
    "axes": -1,
    "axis": -1,
    "dtype": "float32",
    "mode": "horizontal",
    "factor": 0.1,
    "height_factor": 0.1,
    "width_factor": 0.1,
    "stddev": 0.1,
    "init_values": 1e-6,
    "projection_dim": 64,
    "scale": 1.0,
}
