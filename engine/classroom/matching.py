"""Which layers of a design a ``requires_layer``/``forbids_layer`` criterion is about, wrappers included.

A teacher names a layer type and only the settings that matter (``{"kernel_size": [3, 3]}``); every
other setting may be anything. A wrapper's inner layer is a setting of the wrapper, named the same way
(``{"layer": {"type": "LSTM", "params": {"return_sequences": true}}}``, or just ``{"layer": "LSTM"}``),
and a layer inside a wrapper is a layer of the design: ``requires_layer: LSTM`` counts the LSTM inside a
``Bidirectional`` and the Conv2D inside a ``TimeDistributed``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from engine.i18n import _
from typing import Any

from engine.graph import NetworkGraph
from engine.layers import CATALOGUE, ParamError, ParamSpec

__all__ = [
    "LayerUse",
    "Mismatch",
    "coerce_settings",
    "layer_pattern",
    "layer_uses",
    "matches",
    "mismatch",
    "value_text",
]


@dataclass(frozen=True)
class LayerUse:
    """One layer of a design: a node, or the layer a wrapper node holds (``wrapper`` is then the node's type)."""

    node: str
    name: str
    type: str
    params: Mapping[str, Any]
    wrapper: str | None = None

    @property
    def where(self) -> str:
        """``conv2`` for a node, ``the LSTM inside bilstm`` for a wrapped layer."""
        if self.wrapper is None:
            return self.name
        return _("the {layer} inside {wrapper}").format(layer=self.type, wrapper=self.name)


@dataclass(frozen=True)
class Mismatch:
    """The first setting in which a layer differs from what a criterion asks for."""

    use: LayerUse
    #: The setting, ``return_sequences`` (of the wrapped layer, when ``inner``), or ``layer`` for a wrapped type.
    setting: str
    got: Any
    want: Any
    inner: bool = False

    def sentence(self) -> str:
        """``conv2 (Conv2D) has padding='valid', not 'same'.``, said so that the fix is plain."""
        if self.setting == "layer":
            return _("{name} ({type}) wraps {got}, not {want}.").format(
                name=self.use.name, type=self.use.type, got=self.got, want=self.want
            )
        values = {"setting": self.setting, "got": value_text(self.got), "want": value_text(self.want)}
        if self.inner:
            return _("The {inner} inside {name} has {setting}={got}, not {want}: set {setting}={want} on it.").format(
                inner=self.use.params["layer"]["type"], name=self.use.name, **values
            )
        return _("{name} ({type}) has {setting}={got}, not {want}: set {setting}={want} on it.").format(
            name=self.use.name, type=self.use.type, **values
        )


def layer_uses(graph: NetworkGraph) -> list[LayerUse]:
    """Every layer of the design in node order: each node, then the layer it wraps (if it is a wrapper)."""
    out: list[LayerUse] = []
    for node in graph.nodes():
        params = graph.params_of(node.id)
        out.append(LayerUse(node.id, node.name, node.type, params))
        for inner in _wrapped(node.type, params):
            out.append(LayerUse(node.id, node.name, inner["type"], inner["params"], node.type))
    return out


def _wrapped(layer_type: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    spec = CATALOGUE.get(layer_type)
    if spec is None:
        return
    for p in spec.params:
        if p.kind == "layer" and isinstance(params.get(p.name), Mapping):
            yield params[p.name]


def value_text(value: Any) -> str:
    """A setting as Python writes it: ``(3, 3)``, ``'same'``, ``True``, ``LSTM(return_sequences=True)``."""
    if isinstance(value, Mapping) and "type" in value:
        return layer_pattern(value["type"], value.get("params") or {})
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(value_text(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def layer_pattern(layer: str, params: Mapping[str, Any] | None) -> str:
    """What a criterion asks for, in Keras's own notation: ``Conv2D(kernel_size=(3, 3), padding='same')``,
    ``Bidirectional(LSTM(return_sequences=True))`` (a wrapped layer is the wrapper's first argument)."""
    if not params:
        return layer
    parts: list[str] = []
    for key, value in params.items():
        if isinstance(value, Mapping) and "type" in value:
            parts.insert(0, value_text(value))  # Keras writes the wrapped layer first, without its keyword
        else:
            parts.append(f"{key}={value_text(value)}")
    return f"{layer}({', '.join(parts)})"


def _suggest(word: str, options: Any) -> str:
    close = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return _(' (did you mean "{suggestion}"?)').format(suggestion=close[0]) if close else ""


def _coerce_one(spec_params: Mapping[str, ParamSpec], layer: str, name: str, value: Any) -> Any:
    if name not in spec_params:
        raise ParamError(
            _("{layer} has no setting {setting!r}{suggestion}").format(
                layer=layer, setting=name, suggestion=_suggest(name, spec_params)
            )
        )
    param = spec_params[name]
    if param.kind != "layer":
        return param.coerce(value)
    if isinstance(value, str):
        value = {"type": value}
    if not isinstance(value, Mapping) or not isinstance(value.get("type"), str) or set(value) - {"type", "params"}:
        raise ParamError(
            _(
                '{setting} must name a layer, such as "LSTM" or '
                '{{"type": "LSTM", "params": {{"return_sequences": true}}}}'
            ).format(setting=name)
        )
    inner_type = value["type"]
    choices = param.layer_choices()
    if inner_type not in choices:
        raise ParamError(
            _("{layer} cannot wrap {inner!r}; it wraps {choices}{suggestion}").format(
                layer=layer,
                inner=inner_type,
                choices=", ".join(choices[:8]) + (", ..." if len(choices) > 8 else ""),
                suggestion=_suggest(inner_type, choices),
            )
        )
    inner = value.get("params") or {}
    if not isinstance(inner, Mapping):
        raise ParamError(
            _("the settings of the {inner} inside {layer} must be an object").format(inner=inner_type, layer=layer)
        )
    return {"type": inner_type, "params": coerce_settings(inner_type, inner, allow_empty=True)}


def coerce_settings(layer: str, params: Any, *, allow_empty: bool = False) -> dict[str, Any]:
    """The settings a criterion names, each in the catalogue's canonical form (``3`` becomes ``(3, 3)``);
    settings it does not name stay out, so they may be anything. Raises `ParamError` naming the setting."""
    if not isinstance(params, Mapping) or (not params and not allow_empty):
        raise ParamError(_('must be an object of layer settings, such as {{"kernel_size": [3, 3]}}'))
    by_name = {p.name: p for p in CATALOGUE[layer].params}
    return {str(name): _coerce_one(by_name, layer, str(name), value) for name, value in params.items()}


def matches(use: LayerUse, layer: str, params: Mapping[str, Any] | None) -> bool:
    return use.type == layer and mismatch(use, params or {}) is None


def mismatch(use: LayerUse, params: Mapping[str, Any]) -> Mismatch | None:
    """The first named setting ``use`` has otherwise (its type is assumed right), or None when all agree."""
    for name, want in params.items():
        got = use.params.get(name)
        if isinstance(want, Mapping) and "type" in want:
            if not isinstance(got, Mapping) or got.get("type") != want["type"]:
                return Mismatch(use, "layer", got.get("type") if isinstance(got, Mapping) else got, want["type"])
            for inner_name, inner_want in want.get("params", {}).items():
                inner_got = got["params"].get(inner_name)
                if inner_got != inner_want:
                    return Mismatch(use, inner_name, inner_got, inner_want, inner=True)
        elif got != want:
            return Mismatch(use, name, got, want)
    return None
