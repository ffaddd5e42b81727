"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum and Concatenate.

Element-wise merges follow Keras's ``Merge._compute_elemwise_op_output_shape``: shapes are aligned
on their last axes, a dimension of 1 broadcasts, ``None`` matches anything. Concatenate follows
``Concatenate.build``: equal ranks, and known sizes off the concatenation axis must agree.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.layers.base import LayerSpec, Params, ParamSpec, Shape, ShapeError, Tensor, fmt_shape
from engine.layers.common import canonical_axis


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


def _elementwise(name: str, doc: str, exactly: int | None = None) -> LayerSpec:
    def rule(p: Params, inputs: Sequence[Tensor]) -> Shape:
        return broadcast_merge(name, [t.shape for t in inputs])

    return LayerSpec(
        type=name,
        family="Merge",
        doc=doc,
        params=(),
        shape_rule=rule,
        min_inputs=2,
        max_inputs=exactly,
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
                f"Concatenate along axis {p['axis']} needs every other axis to match, but axis {dim + 1} differs: {listing}.",
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
    family="Merge",
    doc="Stacks its inputs along an axis (channels by default): (8, 8, 32) + (8, 8, 64) -> (8, 8, 96). Order matters.",
    params=(ParamSpec("axis", "int", -1, "Axis to join along; -1 is the last (channels)."),),
    shape_rule=_concat_shape,
    min_inputs=2,
    max_inputs=None,
    label_rule=lambda p: "" if p["axis"] == -1 else f"axis {p['axis']}",
    warn_rule=_concat_warn,
    warn_code="axis",
)

SPECS = (
    _elementwise("Add", "Sums its inputs value by value (a skip/residual connection). Shapes must match or broadcast."),
    _elementwise("Subtract", "First input minus second input, value by value. Exactly two inputs; order matters.", exactly=2),
    _elementwise("Multiply", "Multiplies its inputs value by value (gating)."),
    _elementwise("Average", "Averages its inputs value by value."),
    _elementwise("Maximum", "Keeps the largest of its inputs, value by value."),
    _elementwise("Minimum", "Keeps the smallest of its inputs, value by value."),
    CONCATENATE,
)

__all__ = ["SPECS", "broadcast_merge"]
