"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum and Concatenate.

Element-wise merges follow Keras's ``Merge._compute_elemwise_op_output_shape``: shapes are aligned
on their last axes, a dimension of 1 broadcasts, ``None`` matches anything. Concatenate follows
``Concatenate.build``: equal ranks, and known sizes off the concatenation axis must agree.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.layers.base import LayerSpec, Params, ParamSpec, Shape, ShapeError, Tensor, fmt_shape
from engine.layers.common import canonical_axis

_AXIS_NAMES = {1: ("features",), 2: ("steps", "features"), 3: ("height", "width", "channels"), 4: ("depth", "height", "width", "channels")}


def axis_name(rank: int, dim: int) -> str:
    """What axis ``dim`` of a shape printed without the batch axis is called: ``height``, ``channels``, or
    ``size 2 (Keras axis 2)`` where the rank has no usual names."""
    names = _AXIS_NAMES.get(rank)
    return f"{names[dim]} (axis {dim + 1})" if names else f"size {dim + 1} (Keras axis {dim + 1})"


def broadcast_merge(layer: str, shapes: Sequence[Shape]) -> Shape:
    out = shapes[0]
    for index, other in enumerate(shapes[1:], start=1):
        a, b = (out, other) if len(out) >= len(other) else (other, out)
        if not b:
            out = a
            continue
        result = list(a[: len(a) - len(b)])
        for i, j in zip(a[len(a) - len(b):], b):
            if i is None or j is None:
                result.append(None)
            elif i == 1:
                result.append(j)
            elif j == 1 or i == j:
                result.append(i)
            else:
                raise ShapeError(
                    f"{layer} combines its inputs value by value, but input {index + 1} has shape {fmt_shape(other)} "
                    f"while the inputs before it give {fmt_shape(out)}: {i} and {j} cannot be matched (only equal sizes or 1 can).",
                    "Make the branches produce the same shape, e.g. a 1x1 Conv2D (projection) on the shortcut "
                    "to match the channels, and the same strides on both branches.",
                )
        out = tuple(result)
    return out


def _elementwise(name: str, doc: str, exactly: int | None = None, commutative: bool = True, merge_kind: str = "") -> LayerSpec:
    def rule(p: Params, inputs: Sequence[Tensor]) -> Shape:
        return broadcast_merge(name, [t.shape for t in inputs])

    return LayerSpec(
        type=name,
        torch=name.lower(),  # add, subtract, multiply, average, maximum, minimum
        family="Merge",
        doc=doc,
        params=(),
        shape_rule=rule,
        min_inputs=2,
        max_inputs=exactly,
        commutative=commutative,
        merge_kind=merge_kind,
        receptive="keep",
    )


def _concat_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    shapes = [t.shape for t in inputs]
    rank = len(shapes[0])
    for index, shape in enumerate(shapes[1:], start=2):
        if len(shape) != rank:
            raise ShapeError(
                f"Concatenate joins tensors of the same rank, but input 1 is {fmt_shape(shapes[0])} and input {index} is {fmt_shape(shape)}.",
                "Reshape or Flatten one branch so both have the same number of axes.",
            )
    if p["axis"] % (rank + 1) == 0 and -(rank + 1) <= p["axis"] <= rank:
        axis = -1  # the batch axis: every sample axis must agree (Keras builds it; warned below)
    else:
        axis = canonical_axis("Concatenate", p["axis"], rank + 1)
    for dim in range(rank):
        if dim == axis:
            continue
        known = {s[dim] for s in shapes if s[dim] is not None}
        if len(known) > 1:
            listing = ", ".join(fmt_shape(s) for s in shapes)
            raise ShapeError(
                f"Concatenate along axis {p['axis']} needs every other axis to match, but the {axis_name(rank, dim)} differs: {listing}.",
                "Pool or pad the branches to the same height and width, or concatenate along another axis.",
            )
    out = list(shapes[0])
    if axis == -1 and p["axis"] % (rank + 1) == 0:
        return tuple(out)
    sizes = [s[axis] for s in shapes]
    out[axis] = None if None in sizes else sum(sizes)  # type: ignore[arg-type]
    return tuple(out)


def _concat_warn(p: Params, inputs: Sequence[Tensor]) -> list[tuple[str, str]]:
    rank = len(inputs[0].shape) + 1
    if -rank <= p["axis"] < rank and p["axis"] % rank == 0:
        return [("Concatenate along the batch axis (axis 0) stacks samples, not features; Keras allows it, but it is rarely meant.",
                 "Use axis=-1 to join the features (channels) of each sample.")]
    return []


CONCATENATE = LayerSpec(
    type="Concatenate",
    torch="concatenate",
    family="Merge",
    doc="Stacks its inputs along an axis (channels by default): (8, 8, 32) + (8, 8, 64) -> (8, 8, 96). Order matters.",
    params=(ParamSpec("axis", "int", -1, "Axis to join along; -1 is the last (channels)."),),
    shape_rule=_concat_shape,
    min_inputs=2,
    max_inputs=None,
    label_rule=lambda p: "" if p["axis"] == -1 else f"axis {p['axis']}",
    warn_rule=_concat_warn,
    warn_code="axis",
    receptive="keep",
    merge_kind="concat",
)


def _dot_axes(p: Params, shapes: Sequence[Shape]) -> tuple[int, int]:
    axes = p["axes"]
    pair = (axes, axes) if isinstance(axes, int) else tuple(axes)
    out = []
    for a, shape in zip(pair, shapes):
        rank = len(shape) + 1
        if not -rank <= a < rank or a % rank == 0:
            raise ShapeError(f"Dot: axis {a} is not a feature axis of an input of shape {fmt_shape(shape)}.",
                             f"Use an axis from 1 to {rank - 1} (Keras counts the batch as 0) or -1.")
        out.append(a % rank - 1)
    return out[0], out[1]


def _dot_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    a, b = inputs[0].shape, inputs[1].shape
    i, j = _dot_axes(p, (a, b))
    if a[i] is not None and b[j] is not None and a[i] != b[j]:
        raise ShapeError(f"Dot multiplies along axis {i + 1} of {fmt_shape(a)} and axis {j + 1} of {fmt_shape(b)}, but their sizes differ ({a[i]} and {b[j]}).",
                         "Choose axes of equal size on both inputs.")
    out = a[:i] + a[i + 1:] + b[:j] + b[j + 1:]
    return out if out else (1,)


DOT = LayerSpec(
    type="Dot",
    torch="dot",
    family="Merge",
    doc="Dot product of two tensors along an axis (cosine similarity with normalize=True): (d,) . (d,) -> (1,).",
    params=(
        ParamSpec("axes", "ints", doc="Axis to multiply along: one for both inputs, or a pair (the batch axis is 0).", length=2),
        ParamSpec("normalize", "bool", False, "L2-normalise both inputs first: the result is the cosine similarity."),
    ),
    shape_rule=_dot_shape,
    min_inputs=2,
    max_inputs=2,
    macs_rule=lambda p, inputs, out: _dot_macs(p, inputs, out),
    receptive="undefined",
    receptive_reason="undefined after Dot: each output combines whole vectors",
    label_rule=lambda p: f"axes {p['axes'][0]}" if p["axes"][0] == p["axes"][1] else f"axes {p['axes'][0]}, {p['axes'][1]}",
)


def _dot_macs(p: Params, inputs: Sequence[Shape], out: Shape) -> tuple[int, str]:
    i, _ = _dot_axes(p, inputs)
    k = inputs[0][i] or 1
    n = 1
    for d in out:
        n *= d or 1
    return n * k, f"{n} outputs * {k} products = {n * k:,}"

SPECS = (
    _elementwise("Add", "Sums its inputs value by value (a skip/residual connection). Shapes must match or broadcast.", merge_kind="sum"),
    _elementwise("Subtract", "First input minus second input, value by value. Exactly two inputs; order matters.", exactly=2, commutative=False),
    _elementwise("Multiply", "Multiplies its inputs value by value (gating)."),
    _elementwise("Average", "Averages its inputs value by value."),
    _elementwise("Maximum", "Keeps the largest of its inputs, value by value."),
    _elementwise("Minimum", "Keeps the smallest of its inputs, value by value."),
    CONCATENATE,
    DOT,
)

__all__ = ["SPECS", "axis_name", "broadcast_merge"]
