"""The layer catalogue: one `LayerSpec` per supported Keras layer type.

Data layout is channels-last only (Keras's default): images are (height, width, channels).
"""

from __future__ import annotations

from engine.layers import (
    applications,
    attention,
    conv,
    core,
    merge,
    normalization,
    operations,
    pooling,
    preprocessing,
    recurrent,
    reshaping,
)
from engine.layers.base import (
    CALL_CONVENTIONS,
    INT_MAX,
    RECEPTIVE_KINDS,
    REQUIRED,
    LayerSpec,
    ParamCount,
    ParamError,
    ParamSpec,
    Shape,
    ShapeError,
    Tensor,
    fmt_count,
    fmt_int,
    fmt_shape,
)

__all__ = [
    "CALL_CONVENTIONS",
    "RECEPTIVE_KINDS",
    "CATALOGUE",
    "FAMILIES",
    "FAMILY_COLOURS",
    "KERAS_CLASSES",
    "INT_MAX",
    "REQUIRED",
    "LayerSpec",
    "ParamCount",
    "ParamError",
    "ParamSpec",
    "Shape",
    "ShapeError",
    "Tensor",
    "UnknownLayerError",
    "fmt_count",
    "fmt_int",
    "fmt_shape",
    "get_spec",
    "unknown_layer_text",
]

#: Palette order of the families.
FAMILIES = (
    "Core", "Preprocessing", "Convolution", "Pooling", "Normalization", "Regularization", "Activation", "Reshaping",
    "Recurrent", "Attention", "Merge", "Operation",
)

#: The colour of each family on the canvas and in the palette (the GUI turns them into QColors).
FAMILY_COLOURS: dict[str, str] = {
    "Core": "#4C78A8",
    "Preprocessing": "#8CD17D",
    "Convolution": "#F58518",
    "Pooling": "#54A24B",
    "Normalization": "#B279A2",
    "Regularization": "#9D755D",
    "Activation": "#E45756",
    "Reshaping": "#72B7B2",
    "Recurrent": "#EECA3B",
    "Attention": "#D37295",
    "Merge": "#FF9DA6",
    "Operation": "#BAB0AC",
}

#: Keras class name -> spec, in palette order.
CATALOGUE: dict[str, LayerSpec] = {}
for _module in (core, preprocessing, conv, pooling, normalization, reshaping, recurrent, attention, merge, applications, operations):
    for _spec in _module.SPECS:
        CATALOGUE[_spec.type] = _spec


def unknown_layer_text(layer_type: object) -> str:
    """``unknown layer type 'DepthwiseConvolution2D' (did you mean DepthwiseConv2D?)``: the nearest catalogue name."""
    import difflib

    shown = repr(layer_type) if len(repr(layer_type)) <= 60 else repr(layer_type)[:57] + "..."
    close = []
    if isinstance(layer_type, str):
        close = difflib.get_close_matches(layer_type, list(CATALOGUE), n=1, cutoff=0.6)
    if close:
        return f"unknown layer type {shown} (did you mean {close[0]}?)"
    return f"unknown layer type {shown}"


class UnknownLayerError(KeyError):
    """A layer type that is not in the catalogue."""

    def __str__(self) -> str:
        return unknown_layer_text(self.args[0])


#: (module family, class name Keras saves) -> spec, for the importer: ``("ops", "Add")`` is `ops.add`, ``("layers", "Add")`` the merge layer.
KERAS_CLASSES: dict[tuple[str, str], LayerSpec] = {
    ("ops" if _spec.family == "Operation" else "layers", _spec.keras_class): _spec for _spec in CATALOGUE.values()
}


def get_spec(layer_type: str) -> LayerSpec:
    """Return the spec for a Keras class name, or raise `UnknownLayerError`."""
    try:
        return CATALOGUE[layer_type]
    except (KeyError, TypeError):
        raise UnknownLayerError(layer_type) from None
