"""Attention: MultiHeadAttention (query, value and optional key by name), Attention and AdditiveAttention.

Shapes and weights follow ``keras/src/layers/attention``: MultiHeadAttention projects query, key and
value with one ``EinsumDense`` each (plus a gate when ``use_gate``) and projects the heads back with a
fourth; the output has the query's shape with ``output_shape`` (default: the query's features) last.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from engine.layers.base import LayerSpec, ParamCount, Params, ParamSpec, Shape, ShapeError, Tensor, fmt_int, fmt_shape
from engine.layers.common import use_bias_param

_RF = "undefined through attention: every position can look at every other"
_DROPOUT = ParamSpec("dropout", "float", 0.0, "Dropout on the attention weights.", minimum=0, maximum=1, exclusive_max=True, advanced=True)
_SCORES = ParamSpec(
    "return_attention_scores", "bool", False,
    "Also output the attention scores (a call argument in Keras: layer(..., return_attention_scores=True)).",
)
_CAUSAL = ParamSpec("use_causal_mask", "bool", False, "Each step attends only to earlier steps, as in a decoder (a call argument in Keras).")
_CALL_PARAMS = ("return_attention_scores", "use_causal_mask")


def _known_last(layer: str, what: str, shape: Shape) -> int:
    if not shape or shape[-1] is None:
        raise ShapeError(f"{layer} needs to know the features (last axis) of its {what}, but it receives {fmt_shape(shape)}.",
                         "Give the Input a fixed size on the last axis.")
    return shape[-1]


def _mha_parts(p: Params, inputs: Sequence[Tensor] | Sequence[Shape]) -> tuple[Shape, Shape, Shape]:
    shapes = [t.shape if isinstance(t, Tensor) else t for t in inputs]
    query, value = shapes[0], shapes[1]
    key = shapes[2] if len(shapes) > 2 else value
    return query, value, key


def _mha_out_dims(p: Params, query: Shape) -> tuple[int, ...]:
    return tuple(p["output_shape"]) if p["output_shape"] else (query[-1],)  # type: ignore[return-value]


def _attention_axes(p: Params, query: Shape) -> tuple[int, ...]:
    """Attention axes as indices into the batch-less query shape (Keras counts the batch as 0)."""
    rank = len(query) + 1
    if p["attention_axes"] is None:
        return tuple(range(len(query) - 1))
    axes = (p["attention_axes"],) if isinstance(p["attention_axes"], int) else p["attention_axes"]
    out = []
    for a in axes:
        if not -rank <= a < rank or a % rank in (0, rank - 1):
            raise ShapeError(f"MultiHeadAttention: attention axis {a} must be an axis between the batch and the features of {fmt_shape(query)}.",
                             "Leave attention_axes empty to attend over every axis but the batch and the features.")
        out.append(a % rank - 1)
    return tuple(sorted(out))


def _mha_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    query, value, key = _mha_parts(p, inputs)
    for what, shape in (("query", query), ("value", value), ("key", key)):
        _known_last("MultiHeadAttention", what, shape)
    if value[:-1] != key[:-1]:
        raise ShapeError(f"MultiHeadAttention: value {fmt_shape(value)} and key {fmt_shape(key)} must agree on every axis but the last.",
                         "Feed key and value from the same sequence.")
    if len(query) != len(value):
        raise ShapeError(f"MultiHeadAttention: query {fmt_shape(query)} and value {fmt_shape(value)} must have the same rank.",
                         "Reshape one of them.")
    _attention_axes(p, query)
    return query[:-1] + _mha_out_dims(p, query)


def _true_scores(p: Params, query: Shape, key: Shape) -> Shape:
    if len(query) < 2:
        return ()
    axes = _attention_axes(p, query)
    others = tuple(d for i, d in enumerate(query[:-1]) if i not in axes)
    return others + (p["num_heads"],) + tuple(query[i] for i in axes) + tuple(key[i] for i in axes)


def _mha_outputs(p: Params, inputs: Sequence[Tensor], first: Shape) -> tuple[Tensor, ...]:
    if not p["return_attention_scores"]:
        return ()
    query, value, key = _mha_parts(p, inputs)
    # What Keras 3 reports when the model is built (MultiHeadAttention.compute_output_spec): heads x query
    # length x query length, whatever the key length or attention axes; LayerLab gives the same numbers.
    return (Tensor((p["num_heads"], query[0], query[0])),)


def _mha_warn(p: Params, inputs: Sequence[Tensor]) -> list[tuple[str, str]]:
    query, value, key = _mha_parts(p, inputs)
    if len(query) < 2 or len(key) < 2:
        return [("MultiHeadAttention compares the steps of sequences (steps, features), but its query or key has no steps axis: "
                 "Keras builds the model, but there is nothing to attend over.", "Give it (steps, features) tensors, e.g. after an Embedding.")]
    if not p["return_attention_scores"]:
        return []
    reported, real = (p["num_heads"], query[0], query[0]), _true_scores(p, query, key)
    if reported == real:
        return []
    return [(f"Keras reports the attention scores as {fmt_shape(reported)} when it builds the model, but they are {fmt_shape(real)} "
             "when it runs (query steps by key steps); LayerLab shows what Keras reports.",
             "Layers after the scores see Keras's reported shape; check them with real data.")]


def _mha_count(p: Params, inputs: Sequence[Shape], out: Shape) -> ParamCount:
    query, value, key = _mha_parts(p, inputs)
    h, kd = p["num_heads"], p["key_dim"]
    vd = p["value_dim"] or kd
    q, k, v = query[-1] or 0, key[-1] or 0, value[-1] or 0
    o = math.prod(_mha_out_dims(p, query))
    b = 1 if p["use_bias"] else 0
    parts = [
        ("query", q * h * kd + b * h * kd, f"{q}*{h}*{kd}" + (f" + {h}*{kd}" if b else "")),
        ("key", k * h * kd + b * h * kd, f"{k}*{h}*{kd}" + (f" + {h}*{kd}" if b else "")),
        ("value", v * h * vd + b * h * vd, f"{v}*{h}*{vd}" + (f" + {h}*{vd}" if b else "")),
    ]
    if p["use_gate"]:
        parts.append(("gate", q * h * vd + b * h * vd, f"{q}*{h}*{vd}" + (f" + {h}*{vd}" if b else "")))
    parts.append(("output", h * vd * o + b * o, f"{h}*{vd}*{o}" + (f" + {o}" if b else "")))
    total = sum(n for _, n, _ in parts)
    text = " + ".join(f"{name} ({expr})" for name, _, expr in parts)
    return ParamCount(total, 0, f"{text} = {fmt_int(total)}")


def _mha_macs(p: Params, inputs: Sequence[Shape], out: Shape) -> tuple[int, str]:
    query, value, key = _mha_parts(p, inputs)
    h, kd = p["num_heads"], p["key_dim"]
    vd = p["value_dim"] or kd
    tq = math.prod(d or 1 for d in query[:-1])
    tk = math.prod(d or 1 for d in key[:-1])
    o = math.prod(_mha_out_dims(p, query))
    projections = tq * (query[-1] or 1) * h * kd + tk * (key[-1] or 1) * h * kd + tk * (value[-1] or 1) * h * vd
    attend = h * tq * tk * (kd + vd)
    output = tq * h * vd * o
    total = projections + attend + output
    return total, f"projections {fmt_int(projections)} + scores and weighted sum {h}*{tq}*{tk}*({kd}+{vd}) + output {tq}*{h}*{vd}*{o} = {fmt_int(total)}"


MULTI_HEAD_ATTENTION = LayerSpec(
    type="MultiHeadAttention",
    torch="multi_head_attention",
    family="Attention",
    doc="Each of num_heads heads compares every query step with every key step and mixes the values: the core of a Transformer.",
    params=(
        ParamSpec("num_heads", "int", doc="Number of attention heads.", minimum=1),
        ParamSpec("key_dim", "int", doc="Size of each head's query and key projections.", minimum=1),
        ParamSpec("value_dim", "int", None, "Size of each head's value projection; empty means key_dim.", minimum=1, optional=True),
        _DROPOUT,
        use_bias_param(),
        ParamSpec("output_shape", "shape", None, "Features of the output; empty means the query's.", optional=True, minimum=1, advanced=True),
        ParamSpec("attention_axes", "axes", None, "Axes to attend over; empty means every axis but the batch and the features.", optional=True, advanced=True),
        ParamSpec("use_gate", "bool", False, "Gate the attended values with a learned sigmoid (one more projection).", advanced=True),
        _SCORES,
        _CAUSAL,
    ),
    call_params=_CALL_PARAMS,
    shape_rule=_mha_shape,
    count_rule=_mha_count,
    macs_rule=_mha_macs,
    min_inputs=2,
    max_inputs=3,
    input_names=("query", "value", "key"),
    output_names=lambda p: ("output", "attention_scores") if p["return_attention_scores"] else ("output",),
    outputs_rule=_mha_outputs,
    warn_rule=_mha_warn,
    warn_code="keras-report",
    receptive="undefined",
    receptive_reason=_RF,
    label_rule=lambda p: f"{p['num_heads']} heads x {p['key_dim']}",
)


def _attention_shape(layer: str):
    def rule(p: Params, inputs: Sequence[Tensor]) -> Shape:
        query, value, key = _mha_parts(p, inputs)
        if not query:
            if not value:
                return ()  # Keras: (batch,)[:-1] + (batch,)[-1:] keeps the batch axis
            raise ShapeError(f"{layer} needs features on the last axis, but its query is a scalar per sample.", "Give it (steps, features) tensors.")
        if layer == "AdditiveAttention" and p["use_scale"]:
            _known_last(layer, "query", query)
        # Keras: query.shape[:-1] + value.shape[-1:], where a value without axes lends its batch axis (None).
        return query[:-1] + (value[-1:] if value else (None,))

    return rule


def _attention_warn(p: Params, inputs: Sequence[Tensor]) -> list[tuple[str, str]]:
    query, value, key = _mha_parts(p, inputs)
    flat = [what for what, shape in (("query", query), ("value", value), ("key", key)) if len(shape) < 2]
    if flat:
        return [(f"Attention compares steps of sequences (steps, features), but the {' and '.join(flat)} has no steps axis: "
                 "Keras builds the model, but there is nothing to attend over.", "Give it (steps, features) tensors.")]
    if query[-1] is not None and key[-1] is not None and query[-1] != key[-1]:
        return [(f"query and key features differ ({query[-1]} and {key[-1]}): Keras builds the model, but it fails as soon as it runs.",
                 "Project both to the same size with a Dense, or use MultiHeadAttention.")]
    return []


def _attention_outputs(p: Params, inputs: Sequence[Tensor], first: Shape) -> tuple[Tensor, ...]:
    if not p["return_attention_scores"]:
        return ()
    query, value, key = _mha_parts(p, inputs)
    return (Tensor(query[:-1] + ((key[-2],) if len(key) >= 2 else (None,))),)


def _attention_count(p: Params, inputs: Sequence[Shape], out: Shape) -> ParamCount:
    scale = 1 if p["use_scale"] else 0
    concat = 1 if p["score_mode"] == "concat" else 0
    total = scale + concat
    names = [n for n, on in (("scale", scale), ("concat score weight", concat)) if on]
    return ParamCount(total, 0, f"{' + '.join(names)} (one number each) = {total}" if names else "no weights")


def _additive_count(p: Params, inputs: Sequence[Shape], out: Shape) -> ParamCount:
    if not p["use_scale"]:
        return ParamCount(0, 0, "no weights")
    dim = inputs[0][-1] or 0
    return ParamCount(dim, 0, f"one scale per query feature = {fmt_int(dim)}")


def _attention_macs(p: Params, inputs: Sequence[Shape], out: Shape) -> tuple[int, str]:
    query, value, key = _mha_parts(p, inputs)
    tq = math.prod(d or 1 for d in query[:-1])
    tk = key[-2] or 1
    d, dv = query[-1] or 1, value[-1] or 1
    total = tq * tk * (d + dv)
    return total, f"{tq} query steps * {tk} key steps * ({d} + {dv}) = {fmt_int(total)}"


def _attention(layer: str, doc: str, params: tuple[ParamSpec, ...], count, torch: str) -> LayerSpec:  # noqa: ANN001
    return LayerSpec(
        type=layer,
        torch=torch,
        family="Attention",
        doc=doc,
        params=(*params, _DROPOUT, _SCORES, _CAUSAL),
        call_params=_CALL_PARAMS,
        shape_rule=_attention_shape(layer),
        count_rule=count,
        macs_rule=_attention_macs,
        min_inputs=2,
        max_inputs=3,
        input_names=("query", "value", "key"),
        call="list",
        output_names=lambda p: ("output", "attention_scores") if p["return_attention_scores"] else ("output",),
        outputs_rule=_attention_outputs,
        warn_rule=_attention_warn,
        warn_code="runtime",
        receptive="undefined",
        receptive_reason=_RF,
    )


ATTENTION = _attention(
    "Attention",
    "Dot-product attention (Luong): each query step takes a softmax-weighted mix of the value steps. Called on [query, value] or [query, value, key].",
    (
        ParamSpec("use_scale", "bool", False, "Learn one number that scales the scores."),
        ParamSpec("score_mode", "choice", "dot", "dot: query . key; concat: tanh(query + key).", choices=("dot", "concat")),
    ),
    _attention_count,
    "attention",
)
ADDITIVE_ATTENTION = _attention(
    "AdditiveAttention",
    "Additive attention (Bahdanau): scores are sum(tanh(query + key)); called on [query, value] or [query, value, key].",
    (ParamSpec("use_scale", "bool", True, "Learn one scale per feature."),),
    _additive_count,
    "additive_attention",
)

SPECS = (MULTI_HEAD_ATTENTION, ATTENTION, ADDITIVE_ATTENTION)

__all__ = ["SPECS"]
