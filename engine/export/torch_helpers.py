"""The helper functions and modules the generated PyTorch code defines, each written only when the code uses it.

Kept as source text (the generated file is standalone: PyTorch, NumPy and h5py are all it imports); the model's
own helpers come before the model, the weight loader's after it.
"""

from __future__ import annotations

__all__ = ["HELPERS", "MODEL_HELPERS"]

HELPERS: dict[str, str] = {
    "to_channels_first": '''
def to_channels_first(x):
    """(batch, ..., channels) -> (batch, channels, ...) for PyTorch's layers."""
    return torch.movedim(x, -1, 1)
''',
    "to_channels_last": '''
def to_channels_last(x):
    """(batch, channels, ...) -> (batch, ..., channels), as the Keras model has it."""
    return torch.movedim(x, 1, -1)
''',
    "pad_same": '''
def pad_same(x, kernel_size, strides, dilation, value=0.0):
    """Pad channels-first x as Keras pads padding="same" with strides: half before,
    the rest (one more) after."""
    pads = []
    axes = zip(x.shape[2:], kernel_size, strides, dilation, strict=True)
    for size, k, s, d in reversed(list(axes)):
        total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads, value=value)
''',
    "average_pool_same": '''
def average_pool_same(x, pool_size, strides):
    """Keras's average pooling with padding="same": the padding is not averaged."""
    pool = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[x.dim() - 2]
    ones = torch.ones_like(x[:, :1])
    dilation = (1,) * len(pool_size)
    total = pool(pad_same(x, pool_size, strides, dilation), pool_size, strides)
    return total / pool(pad_same(ones, pool_size, strides, dilation), pool_size, strides)
''',
    "fit_transposed": '''
def fit_transposed(x, sizes, before):
    """Cut a transposed convolution's full output to Keras's size: drop `before` rows
    at the start of each axis, and extend with zeros where Keras's output reaches past
    the kernel."""
    for axis, (size, start) in enumerate(zip(sizes, before, strict=True), start=2):
        x = x.narrow(axis, start, min(size, x.shape[axis] - start))
        if x.shape[axis] < size:
            x = F.pad(x, [0, 0] * (x.dim() - axis - 1) + [0, size - x.shape[axis]])
    return x
''',
    "KerasMultiHeadAttention": '''
class KerasMultiHeadAttention(nn.Module):
    """Keras's MultiHeadAttention: per-head projections of query, key and value,
    scaled dot-product attention over the steps, and a projection back. Returns the
    output and the scores (batch, heads, query steps, key steps)."""

    def __init__(self, query_dim, key_dim_in, value_dim_in, num_heads, key_dim, value_dim, output_dim, use_bias=True):
        super().__init__()
        self.num_heads, self.key_dim, self.value_dim = num_heads, key_dim, value_dim
        self.query = nn.Linear(query_dim, num_heads * key_dim, bias=use_bias)
        self.key = nn.Linear(key_dim_in, num_heads * key_dim, bias=use_bias)
        self.value = nn.Linear(value_dim_in, num_heads * value_dim, bias=use_bias)
        self.output = nn.Linear(num_heads * value_dim, output_dim, bias=use_bias)

    def forward(self, query, value, key=None, causal=False):
        key = value if key is None else key
        q = self.query(query).unflatten(-1, (self.num_heads, self.key_dim)).transpose(1, 2)
        k = self.key(key).unflatten(-1, (self.num_heads, self.key_dim)).transpose(1, 2)
        v = self.value(value).unflatten(-1, (self.num_heads, self.value_dim)).transpose(1, 2)
        logits = (q / math.sqrt(self.key_dim)) @ k.transpose(-1, -2)
        if causal:
            allowed = torch.ones(logits.shape[-2:], dtype=torch.bool, device=logits.device).tril()
            logits = logits.masked_fill(~allowed, float("-inf"))
        scores = torch.softmax(logits, dim=-1)
        return self.output((scores @ v).transpose(1, 2).flatten(2)), scores
''',
    "luong_attention": '''
def luong_attention(query, value, key, scale=None, concat_weight=None, causal=False):
    """Keras's Attention: scores query . key (score_mode="concat": tanh(query + key)
    summed), softmax over the value steps. Returns the output and the scores."""
    if concat_weight is None:
        scores = query @ key.transpose(-1, -2)
        if scale is not None:
            scores = scores * scale
    else:
        added = query.unsqueeze(-2) + key.unsqueeze(-3)
        scores = concat_weight * torch.tanh(added if scale is None else scale * added).sum(-1)
    return attend(scores, value, causal)
''',
    "additive_attention": '''
def additive_attention(query, value, key, scale=None, causal=False):
    """Keras's AdditiveAttention (Bahdanau): scores tanh(query + key) summed over the
    features (times a learned scale per feature), softmax over the value steps.
    Returns the output and the scores."""
    added = torch.tanh(query.unsqueeze(-2) + key.unsqueeze(-3))
    return attend((added if scale is None else scale * added).sum(-1), value, causal)
''',
    "attend": '''
def attend(scores, value, causal):
    """Softmax over the value steps (no later step when causal), then the weighted sum
    of the values."""
    if causal:
        allowed = torch.ones(scores.shape[-2:], dtype=torch.bool, device=scores.device).tril()
        scores = scores.masked_fill(~allowed, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ value, weights
''',
    "GRUResetBefore": '''
class GRUResetBefore(nn.Module):
    """Keras's GRU with reset_after=False: the reset gate scales the previous state
    before the recurrent product (nn.GRU scales after it). Batch first, gates in
    PyTorch's order (r, z, n), one bias as in Keras."""

    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__()
        self.hidden_size = hidden_size
        self.weight_ih = nn.Parameter(torch.zeros(3 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.zeros(3 * hidden_size, hidden_size))
        self.bias = nn.Parameter(torch.zeros(3 * hidden_size)) if bias else None

    def forward(self, x, state=None):
        h = x.new_zeros(x.shape[0], self.hidden_size) if state is None else state[0]
        w_r, w_z, w_n = self.weight_hh.chunk(3)
        outputs = []
        for step in F.linear(x, self.weight_ih, self.bias).unbind(1):
            x_r, x_z, x_n = step.chunk(3, dim=-1)
            r = torch.sigmoid(x_r + h @ w_r.T)
            z = torch.sigmoid(x_z + h @ w_z.T)
            h = z * h + (1 - z) * torch.tanh(x_n + (r * h) @ w_n.T)
            outputs.append(h)
        return torch.stack(outputs, 1), h.unsqueeze(0)
''',
    "put": '''
def put(tensor, array):
    """Copy a NumPy array into a parameter or buffer, refusing one of another shape."""
    array = torch.as_tensor(np.array(array, order="C"), dtype=tensor.dtype)  # a contiguous copy (0-d stays 0-d)
    if tuple(array.shape) != tuple(tensor.shape):
        given, wanted = tuple(array.shape), tuple(tensor.shape)
        raise ValueError(f"Keras weights of shape {given} do not fit PyTorch's {wanted}")
    tensor.copy_(array)
''',
    "copy_dense": '''
def copy_dense(linear, kernel, bias=None):
    """Keras's (inputs, units) kernel is PyTorch's (units, inputs) weight transposed."""
    put(linear.weight, kernel.T)
    if bias is not None:
        put(linear.bias, bias)
''',
    "copy_embedding": '''
def copy_embedding(embedding, table):
    put(embedding.weight, table)
''',
    "copy_parameter": '''
def copy_parameter(parameter, array):
    put(parameter, array)
''',
    "copy_conv": '''
def copy_conv(conv, kernel, bias=None):
    """Keras's (*kernel_size, in, out) kernel is PyTorch's (out, in, *kernel_size);
    a transposed convolution's (*kernel_size, out, in) is PyTorch's (in, out,
    *kernel_size): the same move of axes."""
    n = kernel.ndim - 2
    put(conv.weight, kernel.transpose(n + 1, n, *range(n)))
    if bias is not None:
        put(conv.bias, bias)
''',
    "copy_depthwise": '''
def copy_depthwise(conv, kernel, bias=None):
    """Keras's (*kernel_size, channels, multiplier) kernel is PyTorch's
    (channels * multiplier, 1, *kernel_size)."""
    n = kernel.ndim - 2
    put(conv.weight, kernel.transpose(n, n + 1, *range(n)).reshape(-1, 1, *kernel.shape[:n]))
    if bias is not None:
        put(conv.bias, bias)
''',
    "copy_separable": '''
def copy_separable(separable, depthwise_kernel, pointwise_kernel, bias=None):
    """Keras's separable convolution: depthwise kernel, 1x1 pointwise kernel, bias."""
    copy_depthwise(separable[0], depthwise_kernel)
    copy_conv(separable[1], pointwise_kernel, bias)
''',
    "copy_batch_norm": '''
def copy_batch_norm(norm, *gamma_beta, mean=None, variance=None):
    """Keras's gamma, beta, moving mean and moving variance (or, given by name, only
    the moving statistics)."""
    if mean is None:
        gamma, beta, mean, variance = gamma_beta
        put(norm.weight, gamma)
        put(norm.bias, beta)
    put(norm.running_mean, mean)
    put(norm.running_var, variance)
''',
    "copy_layer_norm": '''
def copy_layer_norm(norm, *gamma_beta):
    """Keras's gamma (scale) and beta (center), those the layer has."""
    tensors = [t for t in (norm.weight, norm.bias) if t is not None]
    for tensor, array in zip(tensors, gamma_beta, strict=True):
        put(tensor, array)
''',
    "copy_buffers": '''
def copy_buffers(buffers, arrays):
    for buffer, array in zip(buffers, arrays, strict=True):
        put(buffer, np.reshape(array, tuple(buffer.shape)))
''',
    "copy_recurrent": '''
def copy_recurrent(rnn, forward, backward=None):
    """Keras's kernel, recurrent kernel and bias (an LSTM's gates i, f, c, o are
    PyTorch's i, f, g, o) into weight_ih, weight_hh and bias_ih; PyTorch's second bias,
    bias_hh, which Keras does not have, is zero."""
    for suffix, arrays in (("_l0", forward), ("_l0_reverse", backward)):
        if arrays is None:
            continue
        kernel, recurrent, *bias = arrays
        put(getattr(rnn, "weight_ih" + suffix), kernel.T)
        put(getattr(rnn, "weight_hh" + suffix), recurrent.T)
        if bias:
            put(getattr(rnn, "bias_ih" + suffix), bias[0])
            getattr(rnn, "bias_hh" + suffix).zero_()
''',
    "gru_gates": '''
def gru_gates(array):
    """Keras's GRU gates (z, r, h) on the last axis, in PyTorch's order (r, z, n)."""
    z, r, h = np.split(array, 3, axis=-1)
    return np.concatenate([r, z, h], axis=-1)
''',
    "copy_gru": '''
def copy_gru(gru, forward, backward=None):
    """Keras's GRU with reset_after=True has PyTorch's two biases (input, recurrent)."""
    for suffix, arrays in (("_l0", forward), ("_l0_reverse", backward)):
        if arrays is None:
            continue
        kernel, recurrent, *bias = arrays
        put(getattr(gru, "weight_ih" + suffix), gru_gates(kernel).T)
        put(getattr(gru, "weight_hh" + suffix), gru_gates(recurrent).T)
        if bias:
            put(getattr(gru, "bias_ih" + suffix), gru_gates(bias[0][0]))
            put(getattr(gru, "bias_hh" + suffix), gru_gates(bias[0][1]))
''',
    "copy_gru_reset_before": '''
def copy_gru_reset_before(gru, arrays):
    """Keras's GRU with reset_after=False: kernel, recurrent kernel and one bias."""
    kernel, recurrent, *bias = arrays
    put(gru.weight_ih, gru_gates(kernel).T)
    put(gru.weight_hh, gru_gates(recurrent).T)
    if bias:
        put(gru.bias, gru_gates(bias[0]))
''',
    "copy_attention_dense": '''
def copy_attention_dense(linear, kernel, bias=None):
    """Keras's per-head kernel, (features, heads, size) or (heads, size, features),
    as a Linear's weight."""
    put(linear.weight, kernel.reshape(linear.in_features, linear.out_features).T)
    if bias is not None:
        put(linear.bias, bias.reshape(-1))
''',
    "read_keras_arrays": '''
def read_keras_arrays(path):
    """Every layer's arrays in a Keras 3 model file (.keras or .weights.h5), by path."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            source = io.BytesIO(archive.read("model.weights.h5"))
    else:
        source = path
    arrays = {}
    with h5py.File(source, "r") as file:

        def collect(name, item):
            if isinstance(item, h5py.Group) and name.rsplit("/", 1)[-1] == "vars":
                arrays[name] = [item[str(i)][()] for i in range(len(item))]

        file.visititems(collect)
    return arrays
''',
}

#: Helpers of the model itself (the rest serve load_keras_weights, written after the model).
MODEL_HELPERS = ("to_channels_first", "to_channels_last", "pad_same", "average_pool_same", "fit_transposed", "KerasMultiHeadAttention",
                  "luong_attention", "additive_attention", "attend", "GRUResetBefore")
