"""Recurrent layers (SimpleRNN, LSTM, GRU), and the wrappers Bidirectional and TimeDistributed."""

from __future__ import annotations

from collections.abc import Sequence

from engine.layers.base import LayerSpec, ParamCount, Params, ParamSpec, Shape, ShapeError, Tensor, fmt_int, fmt_shape
from engine.layers.common import activation_param, require_known, require_rank, use_bias_param

_HINT = ("Recurrent layers read sequences (steps, features): if the layer before is recurrent, set "
         "return_sequences=True on it; otherwise use Reshape, or Embedding for token ids.")


def sequence_fix(sources: Sequence[tuple[str, str, Params]]) -> str:
    """The fix when a recurrent layer receives one vector per sample: the layer before, and what to change on it."""
    if not sources:
        return ""
    name, layer_type, params = sources[0]
    inner = params.get("layer") if layer_type == "Bidirectional" else None
    settings = inner["params"] if isinstance(inner, dict) else params
    if (layer_type in _STATES or inner is not None) and settings.get("return_sequences") is False:
        return (f"Set return_sequences=True on {name}, so that it passes on every step (steps, units) instead of only "
                "the last one.")
    return (f"{name} ({layer_type}) gives one vector per sample: use Reshape to (steps, features) after it, "
            "or Embedding for token ids.")


_STATES = {"SimpleRNN": ("state",), "LSTM": ("state_h", "state_c"), "GRU": ("state",)}
#: The PyTorch export's translator of each recurrent layer (the layer's ``torch`` key).
_TORCH = {"SimpleRNN": "simple_rnn", "LSTM": "lstm", "GRU": "gru"}


def _rnn_shape(layer: str):
    def rule(p: Params, inputs: Sequence[Tensor]) -> Shape:
        shape = inputs[0].shape
        require_rank(layer, shape, (2,), _HINT)
        require_known(layer, shape, -1, "number of features per step (last axis)")
        return (shape[0], p["units"]) if p["return_sequences"] else (p["units"],)

    return rule


def _state_warn(p: Params, inputs: Sequence[Tensor]) -> list[tuple[str, str]]:
    return [
        (f"initial state {slot} should be a vector of {p['units']} values (one per unit), but it is {fmt_shape(state.shape)}: "
         "Keras builds the model, but it fails as soon as it runs.",
         "Feed it the states of a recurrent layer with the same number of units (return_state=True).")
        for slot, state in enumerate(inputs[1:], start=1) if state.shape != (p["units"],)
    ]


def _rnn_outputs(layer: str):
    def rule(p: Params, inputs: Sequence[Tensor], first: Shape) -> tuple[Tensor, ...]:
        return tuple(Tensor((p["units"],)) for _ in _STATES[layer]) if p.get("return_state") else ()

    return rule


def _rnn_macs(layer: str):
    def rule(p: Params, inputs: Sequence[Shape], out: Shape) -> tuple[int, str]:
        steps = inputs[0][0] or 1
        gates = _gates(p, layer)
        n_in = inputs[0][-1] or 1
        macs = steps * gates * (n_in + p["units"]) * p["units"]
        return macs, f"{steps} steps * {gates} * ({n_in} + {p['units']}) * {p['units']} = {fmt_int(macs)}"

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
    ParamSpec("return_state", "bool", False, "Also output the final state(s), e.g. to start a decoder (seq2seq)."),
)
_RNN_RF = "undefined for recurrent layers: each step can see the whole sequence before it"


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
    states = _STATES[layer]
    return LayerSpec(
        type=layer,
        torch=_TORCH[layer],
        family="Recurrent",
        doc=doc,
        params=tuple(params),
        shape_rule=_rnn_shape(layer),
        count_rule=_rnn_count(layer),
        macs_rule=_rnn_macs(layer),
        receptive="undefined",
        receptive_reason=_RNN_RF,
        label_rule=_rnn_label,
        max_inputs=1 + len(states),
        input_names=("sequences",) + tuple(f"initial_state[{i}]" for i in range(len(states))),
        output_names=lambda p: ("output", *states) if p["return_state"] else ("output",),
        outputs_rule=_rnn_outputs(layer),
        warn_rule=_state_warn,
        warn_code="runtime",
        call="named",
        input_fix=sequence_fix,
    )


SIMPLE_RNN = _rnn("SimpleRNN", "A plain recurrent layer: one weight matrix for the input and one for the state.")
LSTM = _rnn("LSTM", "Long short-term memory: 4 gates, each with input, recurrent and bias weights.")
GRU = _rnn("GRU", "Gated recurrent unit: 3 gates; Keras's default reset_after=True has two bias vectors per gate.")
_INNER = {spec.type: spec for spec in (SIMPLE_RNN, LSTM, GRU)}


def _bi_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    inner = p["layer"]
    if inner["params"].get("return_state"):
        raise ShapeError("Bidirectional: LayerLab does not model the states of a bidirectional layer (return_state=True).",
                         "Set return_state to false on the wrapped layer.")
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


def _bi_macs(p: Params, inputs: Sequence[Shape], out: Shape) -> tuple[int, str]:
    inner = p["layer"]
    one, text = _INNER[inner["type"]].macs_rule(inner["params"], inputs, out)  # type: ignore[misc]
    return 2 * one, f"2 directions * [{text.rsplit(' = ', 1)[0]}] = {fmt_int(2 * one)}"


BIDIRECTIONAL = LayerSpec(
    type="Bidirectional",
    wrapped_copies=2,
    torch="bidirectional",
    family="Recurrent",
    doc="Runs a recurrent layer forwards and a copy backwards and merges both: twice the weights.",
    params=(
        ParamSpec("layer", "layer", doc="The recurrent layer to run in both directions.", choices=tuple(_INNER)),
        ParamSpec("merge_mode", "choice", "concat", "How the two directions are combined; concat doubles the size.", choices=("concat", "sum", "mul", "ave")),
    ),
    shape_rule=_bi_shape,
    count_rule=_bi_count,
    macs_rule=_bi_macs,
    receptive="undefined",
    receptive_reason=_RNN_RF,
    label_rule=lambda p: f"{p['layer']['type']} {_rnn_label(p['layer']['params'])}, {p['merge_mode']}",
    input_fix=sequence_fix,
)

def _inner(p: Params):  # noqa: ANN202
    from engine.layers import get_spec

    return get_spec(p["layer"]["type"]), p["layer"]["params"]


def _td_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    shape = inputs[0].shape
    if len(shape) < 2:
        raise ShapeError(f"TimeDistributed applies a layer to every step of (steps, ...), but it receives {fmt_shape(shape)}.",
                         "Its input needs a steps axis first, e.g. (frames, height, width, channels).")
    spec, params = _inner(p)
    step = spec.shape_rule(params, [Tensor(shape[1:], inputs[0].dtype)])
    return (shape[0],) + tuple(step)


def _td_count(p: Params, inputs: Sequence[Shape], out: Shape) -> ParamCount:
    spec, params = _inner(p)
    one = spec.count_rule(params, [inputs[0][1:]], out[1:])
    return ParamCount(one.trainable, one.non_trainable, f"one {spec.type} shared by every step: {one.formula}")


def _td_macs(p: Params, inputs: Sequence[Shape], out: Shape) -> tuple[int, str]:
    spec, params = _inner(p)
    steps = inputs[0][0] or 1
    one, text = spec.macs_rule(params, [inputs[0][1:]], out[1:])  # type: ignore[misc]
    return steps * one, f"{steps} steps * [{text.rsplit(' = ', 1)[0]}] = {fmt_int(steps * one)}"


TIME_DISTRIBUTED = LayerSpec(
    type="TimeDistributed",
    wrapped_copies=1,
    torch="time_distributed",
    family="Recurrent",
    doc="Applies one layer to every step of a sequence with the same weights, e.g. a Conv2D to every video frame.",
    params=(ParamSpec("layer", "layer", doc="The layer applied at every step.", choices=("*",)),),
    shape_rule=_td_shape,
    count_rule=_td_count,
    macs_rule=_td_macs,
    output_activation=lambda p: _inner(p)[0].activation(_inner(p)[1]),
    receptive="undefined",
    receptive_reason="undefined through TimeDistributed: LayerLab follows receptive fields along one image, not per step",
    label_rule=lambda p: f"{p['layer']['type']} {_inner(p)[0].label(_inner(p)[1])}".strip(),
)

SPECS = (SIMPLE_RNN, LSTM, GRU, BIDIRECTIONAL, TIME_DISTRIBUTED)

__all__ = ["SPECS"]
