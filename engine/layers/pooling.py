"""Pooling: Max/Average pooling 1D and 2D, and global pooling (channels-last)."""

from __future__ import annotations

from collections.abc import Sequence

from engine.layers.base import REQUIRED, LayerSpec, Params, ParamSpec, Shape, Tensor
from engine.layers.common import padding_param, pool_length, require_rank, tuple_text

_AXES = {1: ("steps ",), 2: ("height ", "width ")}


def _pool_label(p: Params) -> str:
    text = tuple_text(p["pool_size"])
    strides = p["strides"] or p["pool_size"]
    if strides != p["pool_size"]:
        text += f", s{tuple_text(strides)}"
    if p["padding"] != "valid":
        text += f", {p['padding']}"
    return text


def _pool(kind: str, n: int) -> LayerSpec:
    name = f"{kind}Pooling{n}D"

    def rule(p: Params, inputs: Sequence[Tensor]) -> Shape:
        shape = inputs[0].shape
        hint = "Pooling needs (steps, channels)." if n == 1 else "Pooling needs (height, width, channels); pool before Flatten, not after."
        require_rank(name, shape, (n + 1,), hint)
        strides = p["strides"] or p["pool_size"]
        spatial = tuple(pool_length(name, shape[i], p["pool_size"][i], strides[i], p["padding"], _AXES[n][i]) for i in range(n))
        return spatial + (shape[-1],)

    what = "largest" if kind == "Max" else "average"
    default = ((2,) * n) if kind == "Max" else REQUIRED
    return LayerSpec(
        type=name,
        family="Pooling",
        doc=f"Keeps the {what} value of each window; shrinks {'steps' if n == 1 else 'height and width'}, keeps channels. No weights.",
        params=(
            ParamSpec("pool_size", "ints", default, "Window size.", length=n, minimum=1),
            ParamSpec("strides", "ints", None, "Step between windows; empty means pool_size.", length=n, minimum=1, optional=True),
            padding_param(),
        ),
        shape_rule=rule,
        keeps_dtype=True,
        label_rule=_pool_label,
    )


def _global(kind: str, n: int) -> LayerSpec:
    name = f"Global{kind}Pooling{n}D"

    def rule(p: Params, inputs: Sequence[Tensor]) -> Shape:
        shape = inputs[0].shape
        require_rank(name, shape, (n + 1,), "Global pooling collapses the spatial axes of (steps, channels) or (height, width, channels).")
        return ((1,) * n + (shape[-1],)) if p["keepdims"] else (shape[-1],)

    what = "maximum" if kind == "Max" else "average"
    return LayerSpec(
        type=name,
        family="Pooling",
        doc=f"One {what} per channel over the whole {'sequence' if n == 1 else 'image'}: a cheap alternative to Flatten.",
        params=(ParamSpec("keepdims", "bool", False, "Keep the spatial axes with size 1."),),
        shape_rule=rule,
        keeps_dtype=True,
    )


SPECS = (
    _pool("Max", 1), _pool("Max", 2), _pool("Average", 1), _pool("Average", 2),
    _global("Average", 1), _global("Average", 2), _global("Max", 1), _global("Max", 2),
)

__all__ = ["SPECS"]
