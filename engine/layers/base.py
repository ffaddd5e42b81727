"""The building blocks of the layer catalogue: `ParamSpec`, `LayerSpec` and the errors rules raise.

A `LayerSpec` is the single source of truth for one Keras layer type: its class name, its parameters
(with Keras's names, defaults and allowed values), how many inputs it takes, and the pure functions that
compute its output shape and parameter count. The palette, the inspector, the analysis, the code
generator and the importer all read from it.

Shapes never include the batch dimension: ``(28, 28, 1)`` means Keras's ``(None, 28, 28, 1)``.
A dimension that is not known until run time is ``None``.
"""

from __future__ import annotations

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
    "fmt_shape",
    "fmt_int",
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
    ``padding2d`` ``((top, bottom), (left, right))``; Keras's int and pair forms are accepted
    ``layer``     a nested recurrent layer ``{"type": ..., "params": {...}}`` (for ``Bidirectional``)

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

    def _coerce_padding2d(self, value: Any) -> tuple[tuple[int, int], tuple[int, int]]:
        def pair(v: Any) -> tuple[int, int]:
            if _is_int(v):
                return (v, v)
            if isinstance(v, (list, tuple)) and len(v) == 2 and all(_is_int(x) for x in v):
                return (int(v[0]), int(v[1]))
            raise self._fail(value, "n, [rows, cols] or [[top, bottom], [left, right]]")

        if _is_int(value):
            result = ((value, value), (value, value))
        elif isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_int(x) for x in value):
            result = ((value[0], value[0]), (value[1], value[1]))
        elif isinstance(value, (list, tuple)) and len(value) == 2:
            result = (pair(value[0]), pair(value[1]))
        else:
            raise self._fail(value, "n, [rows, cols] or [[top, bottom], [left, right]]")
        for v in (*result[0], *result[1]):
            if v < 0 or v > INT_MAX:
                raise self._fail(value, "made of sizes between 0 and 2,147,483,647")
        return (tuple(map(int, result[0])), tuple(map(int, result[1])))  # type: ignore[return-value]

    def _coerce_layer(self, value: Any) -> dict[str, Any]:
        from engine.layers import get_spec  # the registry imports this module

        if not isinstance(value, Mapping) or not isinstance(value.get("type"), str):
            raise self._fail(value, 'a layer such as {"type": "LSTM", "params": {"units": 64}}')
        if value["type"] not in self.choices:
            raise self._fail(value["type"], "one of " + ", ".join(self.choices))
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


def _no_weights(p: Params, inputs: Sequence[Shape], output: Shape) -> ParamCount:
    return ParamCount(0, 0, "no weights")


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
    _by_name: dict[str, ParamSpec] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_name.update({p.name: p for p in self.params})

    @property
    def keras_class(self) -> str:
        """The class Keras reports for this layer (``Input`` builds an ``InputLayer``)."""
        return "InputLayer" if self.type == "Input" else self.type

    @property
    def is_merge(self) -> bool:
        """Takes several inputs whose order can matter (slots 0, 1, ...)."""
        return self.family == "Merge"

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
        """Validate ``given`` against the spec and return a complete canonical parameter dict.

        Unknown names and invalid values raise `ParamError`. Missing required parameters get a
        starting value when ``fill_required`` (new nodes), else raise.
        """
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
                out[p.name] = p.coerce(_STARTER[p.name])
            else:
                raise ParamError(f"{p.name} is required for {self.type}")
        return out

    def label(self, params: Params) -> str:
        return self.label_rule(params) if self.label_rule else ""


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
}
