"""Pooling: Max/Average pooling in 1, 2 and 3 dimensions, and global pooling (channels-last)."""

from __future__ import annotations

from collections.abc import Sequence

from engine.layers.base import REQUIRED, LayerSpec, Params, ParamSpec, Shape, Tensor, Window
from engine.layers.common import padding_param, pool_length, require_rank, tuple_text
from engine.layers.conv import AXES as _AXES

_SPATIAL = {1: "steps", 2: "height and width", 3: "depth, height and width"}
_WHOLE = {1: "sequence", 2: "image", 3: "volume"}


def _pool_window(p: Params) -> Window:
    n = len(p["pool_size"])
    return Window(tuple(p["pool_size"]), tuple(p["strides"] or p["pool_size"]), (1,) * n, p["padding"])


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
        hint = {1: "Pooling needs (steps, channels).", 3: "3-D pooling needs (depth, height, width, channels)."}.get(
            n, "Pooling needs (height, width, channels); pool before Flatten, not after."
        )
        require_rank(name, shape, (n + 1,), hint)
        strides = p["strides"] or p["pool_size"]
        spatial = tuple(pool_length(name, shape[i], p["pool_size"][i], strides[i], p["padding"], _AXES[n][i]) for i in range(n))
        return spatial + (shape[-1],)

    what = "largest" if kind == "Max" else "average"
    default = ((2,) * n) if kind == "Max" else REQUIRED
    return LayerSpec(
        type=name,
        family="Pooling",
        doc=f"Keeps the {what} value of each window; shrinks {_SPATIAL[n]}, keeps channels. No weights.",
        params=(
            ParamSpec("pool_size", "ints", default, "Window size.", length=n, minimum=1),
            ParamSpec("strides", "ints", None, "Step between windows; empty means pool_size.", length=n, minimum=1, optional=True),
            padding_param(),
        ),
        shape_rule=rule,
        torch=f"{kind.lower()}_pool",  # max_pool, average_pool
        export_limits=(lambda p: {"litert": "LiteRT has no 3-D pooling operation; export to ONNX or a SavedModel instead."}) if n == 3 else None,
        keeps_dtype=True,
        label_rule=_pool_label,
        window_rule=_pool_window,
        receptive="window",
    )


def _global(kind: str, n: int) -> LayerSpec:
    name = f"Global{kind}Pooling{n}D"

    def rule(p: Params, inputs: Sequence[Tensor]) -> Shape:
        shape = inputs[0].shape
        require_rank(name, shape, (n + 1,), f"{name} collapses the spatial axes of {_WHOLE[n]}s; it needs rank {n + 1} (channels last).")
        return ((1,) * n + (shape[-1],)) if p["keepdims"] else (shape[-1],)

    what = "maximum" if kind == "Max" else "average"
    return LayerSpec(
        type=name,
        family="Pooling",
        doc=f"One {what} per channel over the whole {_WHOLE[n]}: a cheap alternative to Flatten.",
        params=(ParamSpec("keepdims", "bool", False, "Keep the spatial axes with size 1."),),
        shape_rule=rule,
        torch=f"global_{kind.lower()}_pool",  # global_max_pool, global_average_pool
        keeps_dtype=True,
        receptive="undefined",
        receptive_reason="undefined after global pooling: every output sees the whole input",
        global_pool=(what, n),
    )


SPECS = (
    _pool("Max", 1), _pool("Max", 2), _pool("Max", 3), _pool("Average", 1), _pool("Average", 2), _pool("Average", 3),
    _global("Average", 1), _global("Average", 2), _global("Average", 3), _global("Max", 1), _global("Max", 2), _global("Max", 3),
)

__all__ = ["SPECS"]
