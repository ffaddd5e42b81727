"""Keras 3 operations that functional models save as nodes: ``x + 3.0``, ``ops.mean(x, axis=1)``, mask tests.

When a functional model applies a ``keras.ops`` function to a symbolic tensor (MobileNetV3's hard
sigmoid ``x * (1/6)``, ConvNeXt's residual ``x + y``, the mask Keras derives from a ``Masking`` layer)
Keras 3 saves an *operation* node, whose class lives in ``keras.src.ops.numpy``: ``Add``, ``Multiply``,
``Mean``, ``NotEqual`` ... They own no weights. LayerLab names them by their ``keras.ops`` function
(``ops.add``) so they are never taken for the merge layers of the same class name, and exports them as
``keras.ops`` calls. Binary operations take a second tensor or a number (``operand``); axes count the
batch axis as 0, as ``keras.ops`` does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from engine.layers.base import LayerSpec, Params, ParamSpec, Shape, ShapeError, Tensor, fmt_int, fmt_shape
from engine.layers.merge import broadcast_merge

_MODULE = "keras.src.ops.numpy"
_OPERAND = ParamSpec("operand", "float", None, "The number on the other side (x + 3.0), when there is no second input.", optional=True)
_OPERAND_FIRST = ParamSpec("operand_first", "bool", False, "The number comes first (1.0 - x rather than x - 1.0).", advanced=True)
_COMPARISONS = ("equal", "not_equal", "greater", "greater_equal", "less", "less_equal", "logical_and", "logical_or")
_SYMBOLS = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "true_divide": "/", "power": "**",
            "equal": "==", "not_equal": "!=", "greater": ">", "greater_equal": ">=", "less": "<", "less_equal": "<="}


def _camel(function: str) -> str:
    return "".join(part.capitalize() for part in function.split("_"))


def _binary_shape(function: str):
    def rule(p: Params, inputs: Sequence[Tensor]) -> Shape:
        if len(inputs) == 1 and p["operand"] is None:
            raise ShapeError(f"ops.{function} needs a second operand: a second input, or a number in 'operand'.",
                             "Wire a second tensor to it, or set operand.")
        if len(inputs) == 2 and p["operand"] is not None:
            raise ShapeError(f"ops.{function} has two inputs and a number in 'operand'; it takes two operands.",
                             "Clear operand, or remove the second wire.")
        return broadcast_merge(f"ops.{function}", [t.shape for t in inputs])

    return rule


def _binary_label(function: str):
    def label(p: Params) -> str:
        symbol = _SYMBOLS.get(function, function)
        if p["operand"] is None:
            return f"a {symbol} b"
        return f"{p['operand']:g} {symbol} x" if p["operand_first"] else f"x {symbol} {p['operand']:g}"

    return label


def _elementwise_macs(p: Params, inputs: Sequence[Shape], out: Shape) -> tuple[int, str]:
    return 0, "element-wise: no multiply-adds"


def _binary(function: str, doc: str) -> LayerSpec:
    boolean = function in _COMPARISONS
    return LayerSpec(
        type=f"ops.{function}",
        family="Operation",
        doc=doc,
        params=(_OPERAND, _OPERAND_FIRST),
        shape_rule=_binary_shape(function),
        torch="binary_op",
        min_inputs=1,
        max_inputs=2,
        call="op",
        accepts_bool=True,
        merge_kind="sum" if function == "add" else "",
        commutative=function in ("add", "multiply", "maximum", "minimum", "equal", "not_equal", "logical_and", "logical_or"),
        keras_module=_MODULE,
        keras_name=_camel(function),
        dtype_rule=(lambda p, inputs: "bool") if boolean else (lambda p, inputs: inputs[0].dtype),
        macs_rule=_elementwise_macs,
        receptive="keep",
        label_rule=_binary_label(function),
    )


def _unary(function: str, doc: str, boolean: bool = False) -> LayerSpec:
    return LayerSpec(
        type=f"ops.{function}",
        family="Operation",
        doc=doc,
        params=(),
        shape_rule=lambda p, inputs: inputs[0].shape,
        torch="unary_op",
        call="op",
        accepts_bool=True,
        keras_module=_MODULE,
        keras_name=_camel(function).replace("Abs", "Absolute"),
        dtype_rule=(lambda p, inputs: "bool") if boolean else (lambda p, inputs: inputs[0].dtype),
        macs_rule=_elementwise_macs,
        receptive="keep",
    )


def _reduce_axes(function: str, p: Params, shape: Shape) -> list[int]:
    rank = len(shape) + 1
    if p["axis"] is None:
        raise ShapeError(f"ops.{function} without an axis reduces over every axis, the batch included; LayerLab keeps one value per sample.",
                         "Give the axes to reduce, e.g. axis=[1, 2] for height and width.")
    axes = [p["axis"]] if isinstance(p["axis"], int) else list(p["axis"])
    out = []
    for a in axes:
        if not -rank <= a < rank:
            raise ShapeError(f"ops.{function}: axis {a} does not exist for an input of shape {fmt_shape(shape)} (rank {rank} with the batch).",
                             f"Use an axis from 1 to {rank - 1}, or -1 for the last.")
        if a % rank == 0:
            raise ShapeError(f"ops.{function} over axis 0 mixes the samples of a batch.", "Reduce over the axes of one sample (1 and up).")
        out.append(a % rank - 1)
    return sorted(set(out))


def _reduce(function: str, doc: str, boolean: bool = False) -> LayerSpec:
    def rule(p: Params, inputs: Sequence[Tensor]) -> Shape:
        shape = inputs[0].shape
        axes = _reduce_axes(function, p, shape)
        if p["keepdims"]:
            return tuple(1 if i in axes else d for i, d in enumerate(shape))
        return tuple(d for i, d in enumerate(shape) if i not in axes)

    def macs(p: Params, inputs: Sequence[Shape], out: Shape) -> tuple[int, str]:
        n = math.prod(d or 1 for d in inputs[0])
        return (n, f"one addition per value ({fmt_int(n)})") if function in ("mean", "sum") else (0, "comparisons: no multiply-adds")

    return LayerSpec(
        type=f"ops.{function}",
        family="Operation",
        doc=doc,
        params=(
            ParamSpec("axis", "axes", None, "Axis or axes to reduce (the batch axis is 0).", optional=True),
            ParamSpec("keepdims", "bool", False, "Keep the reduced axes with size 1."),
        ),
        shape_rule=rule,
        torch="reduce_op",
        call="op",
        accepts_bool=True,
        keras_module=_MODULE,
        keras_name=_camel(function),
        dtype_rule=(lambda p, inputs: "bool") if boolean else (lambda p, inputs: inputs[0].dtype),
        macs_rule=macs,
        receptive="undefined",
        receptive_reason=f"undefined after ops.{function}: it summarises whole axes",
        label_rule=lambda p: f"axis {p['axis']}" + (", keepdims" if p["keepdims"] else ""),
    )


def _expand_dims_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    shape = inputs[0].shape
    rank = len(shape) + 2  # the new axis counts
    axis = p["axis"]
    if not -rank <= axis < rank or axis % rank == 0:
        raise ShapeError(f"ops.expand_dims: axis {axis} is not a place for a new axis in {fmt_shape(shape)}.", "Use -1 (last) or 1 (first after the batch).")
    index = axis % rank - 1
    return shape[:index] + (1,) + shape[index:]


def _squeeze_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    shape = inputs[0].shape
    if p["axis"] is None:
        return tuple(d for d in shape if d != 1)
    axes = _reduce_axes("squeeze", {"axis": p["axis"]}, shape)
    for a in axes:
        if shape[a] not in (1, None):
            raise ShapeError(f"ops.squeeze can only remove axes of size 1, but axis {a + 1} of {fmt_shape(shape)} has {shape[a]}.", "Squeeze an axis of size 1.")
    return tuple(d for i, d in enumerate(shape) if i not in axes)


_DTYPES = ("float32", "float16", "bfloat16", "float64", "int32", "int64", "uint8", "bool")

SPECS = (
    _binary("add", "x + y, value by value (a tensor and a number, or two tensors that broadcast)."),
    _binary("subtract", "x - y, value by value."),
    _binary("multiply", "x * y, value by value (e.g. MobileNetV3's hard sigmoid multiplies by 1/6)."),
    _binary("divide", "x / y, value by value."),
    _binary("true_divide", "x / y, value by value (true division)."),
    _binary("power", "x ** y, value by value."),
    _binary("maximum", "The larger of x and y, value by value."),
    _binary("minimum", "The smaller of x and y, value by value."),
    *(_binary(f, f"x {_SYMBOLS.get(f, f.replace('logical_', ''))} y, value by value: true or false (masks).") for f in _COMPARISONS),
    _unary("negative", "-x, value by value."),
    _unary("abs", "|x|, value by value."),
    _unary("sqrt", "Square root, value by value."),
    _unary("square", "x squared, value by value."),
    _unary("exp", "e to the x, value by value."),
    _unary("log", "Natural logarithm, value by value."),
    _unary("logical_not", "not x, value by value (masks).", boolean=True),
    _reduce("mean", "Mean over the given axes (e.g. axis=1 averages the steps of a sequence)."),
    _reduce("sum", "Sum over the given axes."),
    _reduce("max", "Largest value over the given axes."),
    _reduce("min", "Smallest value over the given axes."),
    _reduce("any", "True where any value over the axes is true (how Keras turns a Masking test into a per-step mask).", boolean=True),
    _reduce("all", "True where every value over the axes is true.", boolean=True),
    LayerSpec(
        type="ops.expand_dims", family="Operation", doc="Adds an axis of size 1.",
        params=(ParamSpec("axis", "int", doc="Where the new axis goes (the batch axis is 0; -1 is last)."),),
        shape_rule=_expand_dims_shape, call="op", accepts_bool=True, keras_module=_MODULE, keras_name="ExpandDims", keeps_dtype=True,
        macs_rule=_elementwise_macs, receptive="undefined", receptive_reason="undefined after ops.expand_dims: the axes change meaning",
        label_rule=lambda p: f"axis {p['axis']}", torch="expand_dims",
    ),
    LayerSpec(
        type="ops.squeeze", family="Operation", doc="Removes axes of size 1.",
        params=(ParamSpec("axis", "axes", None, "Axes to remove (the batch axis is 0); empty removes every axis of size 1.", optional=True),),
        shape_rule=_squeeze_shape, call="op", accepts_bool=True, keras_module=_MODULE, keras_name="Squeeze", keeps_dtype=True,
        macs_rule=_elementwise_macs, receptive="undefined", receptive_reason="undefined after ops.squeeze: the axes change meaning",
        torch="squeeze",
    ),
    LayerSpec(
        type="ops.cast", family="Operation", doc="Converts the values to another type (e.g. a bool mask to float32).",
        params=(ParamSpec("dtype", "choice", doc="The new type.", choices=_DTYPES),),
        shape_rule=lambda p, inputs: inputs[0].shape, call="op", accepts_bool=True, keras_module="keras.src.ops.core", keras_name="Cast",
        dtype_rule=lambda p, inputs: p["dtype"], macs_rule=_elementwise_macs, receptive="keep", label_rule=lambda p: p["dtype"],
        torch="cast",
    ),
)

__all__ = ["SPECS"]
