"""Recurrent layers: SimpleRNN, LSTM, GRU and the Bidirectional wrapper."""

from __future__ import annotations

from collections.abc import Sequence

from engine.layers.base import LayerSpec, ParamCount, Params, ParamSpec, Shape, Tensor, fmt_int
from engine.layers.common import activation_param, require_known, require_rank, use_bias_param

_HINT = "Recurrent layers read sequences (steps, features): use Reshape, or Embedding for token ids."


def _rnn_shape(layer: str):
    def rule(p: Params, inputs: Sequence[Tensor]) -> Shape:
        shape = inputs[0].shape
        require_rank(layer, shape, (2,), _HINT)
        require_known(layer, shape, -1, "number of features per step (last axis)")
        return (shape[0], p["units"]) if p["return_sequences"] else (p["units"],)

    return rule


def _gates(p: Params, layer: str) -> int:
    return {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}[layer]


def _rnn_count(layer: str):
    def rule(p: Params, inputs: Sequence[Shape], out: Shape) -> ParamCount:
        n_in, u = inputs[0][-1], p["units"]
        assert n_in is not None
        g = _gates(p, layer)
        bias = 0
        if p["use_bias"]:
            bias = 2 * u if layer == "GRU" and p["reset_after"] else u
        per_gate = (n_in + u) * u + bias
        total = g * per_gate
        bias_text = "" if not bias else (f" + 2*{u}" if bias == 2 * u else f" + {u}")
        inner = f"({n_in} + {u}) * {u}{bias_text}"
        text = inner if g == 1 else f"{g} * ({inner})"
        return ParamCount(total, 0, f"{text} = {fmt_int(total)}")

    return rule


def _rnn_label(p: Params) -> str:
    return f"{p['units']}" + (", sequences" if p["return_sequences"] else "")


_COMMON_TAIL = (
    ParamSpec("dropout", "float", 0.0, "Dropout on the inputs.", minimum=0, maximum=1, exclusive_max=True, advanced=True),
    ParamSpec("recurrent_dropout", "float", 0.0, "Dropout on the recurrent state.", minimum=0, maximum=1, exclusive_max=True, advanced=True),
    ParamSpec("return_sequences", "bool", False, "Output every step (steps, units) instead of the last (units,); needed to stack RNNs."),
    ParamSpec("go_backwards", "bool", False, "Read the sequence backwards.", advanced=True),
)


def _rnn(layer: str, doc: str) -> LayerSpec:
    params: list[ParamSpec] = [
        ParamSpec("units", "int", doc="Size of the hidden state (and of the output).", minimum=1),
        activation_param("tanh"),
    ]
    if layer != "SimpleRNN":
        params.append(activation_param("sigmoid", "recurrent_activation"))
    params.append(use_bias_param())
    if layer == "LSTM":
        params.append(ParamSpec("unit_forget_bias", "bool", True, "Start the forget gate's bias at 1.", advanced=True))
    params.extend(_COMMON_TAIL)
    if layer == "GRU":
        params.append(ParamSpec("reset_after", "bool", True, "Apply the reset gate after the matrix product (Keras's default, two bias vectors)."))
    return LayerSpec(
        type=layer,
        family="Recurrent",
        doc=doc,
        params=tuple(params),
        shape_rule=_rnn_shape(layer),
        count_rule=_rnn_count(layer),
        label_rule=_rnn_label,
    )


SIMPLE_RNN = _rnn("SimpleRNN", "A plain recurrent layer: one weight matrix for the input and one for the state.")
LSTM = _rnn("LSTM", "Long short-term memory: 4 gates, each with input, recurrent and bias weights.")
GRU = _rnn("GRU", "Gated recurrent unit: 3 gates; Keras's default reset_after=True has two bias vectors per gate.")
_INNER = {spec.type: spec for spec in (SIMPLE_RNN, LSTM, GRU)}


def _bi_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    inner = p["layer"]
    out = _INNER[inner["type"]].shape_rule(inner["params"], inputs)
    if p["merge_mode"] == "concat":
        return out[:-1] + (2 * out[-1],)  # type: ignore[operator]
    return out


def _bi_count(p: Params, inputs: Sequence[Shape], out: Shape) -> ParamCount:
    inner = p["layer"]
    spec = _INNER[inner["type"]]
    one = spec.count_rule(inner["params"], inputs, out)
    text = one.formula.rsplit(" = ", 1)[0]
    total = 2 * one.trainable
    return ParamCount(total, 0, f"2 directions * [{text}] = {fmt_int(total)}")


BIDIRECTIONAL = LayerSpec(
    type="Bidirectional",
    family="Recurrent",
    doc="Runs a recurrent layer forwards and a copy backwards and merges both: twice the weights.",
    params=(
        ParamSpec("layer", "layer", doc="The recurrent layer to run in both directions.", choices=tuple(_INNER)),
        ParamSpec("merge_mode", "choice", "concat", "How the two directions are combined; concat doubles the size.", choices=("concat", "sum", "mul", "ave")),
    ),
    shape_rule=_bi_shape,
    count_rule=_bi_count,
    label_rule=lambda p: f"{p['layer']['type']} {_rnn_label(p['layer']['params'])}, {p['merge_mode']}",
)

SPECS = (SIMPLE_RNN, LSTM, GRU, BIDIRECTIONAL)

__all__ = ["SPECS"]
