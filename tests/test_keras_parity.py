"""Parity with Keras itself: every shape and parameter count, and every refusal, must match.

For each case the layer is applied by LayerLab's engine and by real Keras to inputs of the given
shapes. Where Keras builds it, LayerLab must give the same output shape, total and non-trainable
parameter counts; where Keras raises, LayerLab must report an error on that layer (no stricter,
no looser).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from engine.analysis import analyse
from engine.graph import NetworkGraph
from engine.layers import CATALOGUE

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras")

from tests.keras_build import engine_numbers, expected_dtype, keras_call, keras_model, layer_numbers  # noqa: E402

Case = tuple[str, dict[str, Any], list[tuple], str]
F, INT = "float32", "int32"

CASES: list[Case] = [
    # Core
    ("Dense", {"units": 10}, [(784,)], F),
    ("Dense", {"units": 3}, [(4, 2)], F),
    ("Dense", {"units": 5, "use_bias": False}, [(64, 4, 2)], F),
    ("Dense", {"units": 7, "activation": "relu"}, [(None, 16)], F),
    ("Dense", {"units": 7}, [(16, None)], F),
    ("Embedding", {"input_dim": 1000, "output_dim": 64}, [(200,)], INT),
    ("Embedding", {"input_dim": 50, "output_dim": 8, "mask_zero": True}, [(None,)], INT),
    ("Embedding", {"input_dim": 50, "output_dim": 8}, [(10, 3)], INT),
    ("Activation", {"activation": "softmax"}, [(10,)], F),
    ("Activation", {"activation": "gelu"}, [(4, 4, 3)], F),
    ("ReLU", {"max_value": 6.0}, [(8, 8, 3)], F),
    ("LeakyReLU", {"negative_slope": 0.1}, [(5,)], F),
    ("Softmax", {"axis": -1}, [(3, 4)], F),
    ("Softmax", {"axis": 1}, [(3, 4)], F),
    ("Softmax", {"axis": 0}, [(3, 4)], F),
    ("Softmax", {"axis": 3}, [(3, 4)], F),
    ("Softmax", {"axis": -3}, [(3, 4)], F),
    ("Dropout", {"rate": 0.5}, [(10,)], F),
    ("SpatialDropout1D", {"rate": 0.2}, [(10, 4)], F),
    ("SpatialDropout1D", {"rate": 0.2}, [(10,)], F),
    ("SpatialDropout2D", {"rate": 0.2}, [(8, 8, 4)], F),
    ("SpatialDropout2D", {"rate": 0.2}, [(8, 4)], F),
    # Convolution
    ("Conv2D", {"filters": 16, "kernel_size": (5, 5), "strides": (5, 5), "use_bias": False}, [(1080, 1920, 3)], F),
    ("Conv2D", {"filters": 128, "kernel_size": (3, 3)}, [(32, 32, 64)], F),
    ("Conv2D", {"filters": 8, "kernel_size": (5, 5), "padding": "same", "strides": (2, 2)}, [(28, 28, 1)], F),
    ("Conv2D", {"filters": 8, "kernel_size": (3, 3), "padding": "valid", "strides": (2, 2)}, [(7, 8, 1)], F),
    ("Conv2D", {"filters": 8, "kernel_size": (3, 3), "dilation_rate": (2, 2)}, [(9, 9, 2)], F),
    ("Conv2D", {"filters": 8, "kernel_size": (3, 3), "dilation_rate": (2, 2), "strides": (2, 2)}, [(9, 9, 2)], F),
    ("Conv2D", {"filters": 8, "kernel_size": (3, 3), "groups": 2}, [(9, 9, 4)], F),
    ("Conv2D", {"filters": 8, "kernel_size": (3, 3), "groups": 4}, [(9, 9, 6)], F),
    ("Conv2D", {"filters": 8, "kernel_size": (5, 5)}, [(4, 4, 1)], F),
    ("Conv2D", {"filters": 8, "kernel_size": (5, 5)}, [(5, 5, 1)], F),
    ("Conv2D", {"filters": 8, "kernel_size": (5, 5), "padding": "same"}, [(4, 4, 1)], F),
    ("Conv2D", {"filters": 8, "kernel_size": (3, 3)}, [(784,)], F),
    ("Conv2D", {"filters": 8, "kernel_size": (3, 3)}, [(None, None, 3)], F),
    ("Conv2D", {"filters": 8, "kernel_size": (1, 7), "strides": (1, 3)}, [(10, 20, 3)], F),
    ("Conv1D", {"filters": 4, "kernel_size": (3,)}, [(100, 8)], F),
    ("Conv1D", {"filters": 4, "kernel_size": (3,), "padding": "causal", "dilation_rate": (4,)}, [(100, 8)], F),
    ("Conv1D", {"filters": 4, "kernel_size": (5,), "strides": (3,), "padding": "same"}, [(100, 8)], F),
    ("Conv1D", {"filters": 4, "kernel_size": (3,)}, [(28, 28, 1)], F),
    ("Conv2DTranspose", {"filters": 16, "kernel_size": (3, 3), "strides": (2, 2), "padding": "same"}, [(7, 7, 32)], F),
    ("Conv2DTranspose", {"filters": 16, "kernel_size": (3, 3), "strides": (2, 2)}, [(7, 7, 32)], F),
    ("Conv2DTranspose", {"filters": 16, "kernel_size": (2, 2), "strides": (3, 3)}, [(7, 7, 32)], F),
    ("Conv2DTranspose", {"filters": 4, "kernel_size": (4, 4), "strides": (2, 2), "output_padding": (1, 1)}, [(7, 7, 8)], F),
    ("Conv2DTranspose", {"filters": 4, "kernel_size": (3, 3), "strides": (2, 2), "padding": "same", "output_padding": (1, 1)}, [(7, 7, 8)], F),
    ("Conv2DTranspose", {"filters": 4, "kernel_size": (3, 3), "strides": (2, 2), "output_padding": (2, 2)}, [(7, 7, 8)], F),
    ("Conv2DTranspose", {"filters": 4, "kernel_size": (3, 3), "dilation_rate": (2, 2)}, [(7, 7, 8)], F),
    ("DepthwiseConv2D", {"kernel_size": (3, 3)}, [(32, 32, 64)], F),
    ("DepthwiseConv2D", {"kernel_size": (3, 3), "strides": (2, 2), "dilation_rate": (2, 2)}, [(15, 15, 4)], F),
    ("SeparableConv2D", {"filters": 4, "kernel_size": (1, 1), "strides": (2, 2), "dilation_rate": (2, 2)}, [(5, 5, 1)], F),
    ("DepthwiseConv2D", {"kernel_size": (3, 3), "depth_multiplier": 2, "strides": (2, 2), "padding": "same", "use_bias": False}, [(15, 15, 8)], F),
    ("SeparableConv2D", {"filters": 128, "kernel_size": (3, 3), "padding": "same"}, [(32, 32, 64)], F),
    ("SeparableConv2D", {"filters": 10, "kernel_size": (3, 3), "depth_multiplier": 3, "use_bias": False}, [(9, 9, 4)], F),
    ("SeparableConv2D", {"filters": 10, "kernel_size": (3, 3)}, [(2, 9, 4)], F),
    # Pooling
    ("MaxPooling2D", {"pool_size": (2, 2)}, [(28, 28, 8)], F),
    ("MaxPooling2D", {"pool_size": (3, 3), "strides": (2, 2)}, [(55, 55, 96)], F),
    ("MaxPooling2D", {"pool_size": (2, 2)}, [(27, 27, 8)], F),
    ("MaxPooling2D", {"pool_size": (3, 3), "strides": (2, 2), "padding": "same"}, [(27, 27, 8)], F),
    ("MaxPooling2D", {"pool_size": (3, 3)}, [(2, 2, 8)], F),
    ("MaxPooling2D", {"pool_size": (3, 3), "padding": "same"}, [(2, 2, 8)], F),
    ("MaxPooling2D", {"pool_size": (2, 2)}, [(64,)], F),
    ("AveragePooling2D", {"pool_size": (2, 2), "strides": (1, 1)}, [(5, 5, 3)], F),
    ("MaxPooling1D", {"pool_size": (2,)}, [(9, 3)], F),
    ("AveragePooling1D", {"pool_size": (4,), "strides": (2,), "padding": "same"}, [(9, 3)], F),
    ("AveragePooling1D", {"pool_size": (4,)}, [(3, 3)], F),
    ("GlobalAveragePooling2D", {}, [(7, 7, 512)], F),
    ("GlobalAveragePooling2D", {"keepdims": True}, [(7, 7, 512)], F),
    ("GlobalMaxPooling2D", {}, [(None, None, 3)], F),
    ("GlobalAveragePooling1D", {}, [(10, 6)], F),
    ("GlobalMaxPooling1D", {"keepdims": True}, [(10, 6)], F),
    ("GlobalAveragePooling2D", {}, [(64,)], F),
    # Normalization
    ("BatchNormalization", {}, [(28, 28, 64)], F),
    ("BatchNormalization", {"center": False}, [(10,)], F),
    ("BatchNormalization", {"axis": 1}, [(5, 3)], F),
    ("BatchNormalization", {"scale": False, "center": False}, [(4, 7)], F),
    ("LayerNormalization", {}, [(10, 32)], F),
    ("LayerNormalization", {"scale": False}, [(10, 32)], F),
    # Reshaping
    ("Flatten", {}, [(7, 7, 64)], F),
    ("Flatten", {}, [(None, 3)], F),
    ("Reshape", {"target_shape": (28, 28, 1)}, [(784,)], F),
    ("Reshape", {"target_shape": (-1, 4)}, [(8, 2)], F),
    ("Reshape", {"target_shape": (5, 5)}, [(784,)], F),
    ("Reshape", {"target_shape": (-1, 5)}, [(12,)], F),
    ("Reshape", {"target_shape": (-1, 4)}, [(None, 2)], F),
    ("Permute", {"dims": (2, 1)}, [(10, 64)], F),
    ("Permute", {"dims": (3, 1, 2)}, [(4, 5, 6)], F),
    ("Permute", {"dims": (1, 3)}, [(4, 5)], F),
    ("ZeroPadding2D", {"padding": ((1, 1), (1, 1))}, [(28, 28, 3)], F),
    ("ZeroPadding2D", {"padding": ((3, 0), (2, 1))}, [(28, 28, 3)], F),
    ("ZeroPadding2D", {"padding": ((1, 1), (1, 1))}, [(28, 3)], F),
    ("Cropping2D", {"cropping": ((2, 2), (4, 4))}, [(28, 28, 3)], F),
    ("Cropping2D", {"cropping": ((14, 14), (0, 0))}, [(28, 28, 3)], F),
    ("UpSampling2D", {"size": (2, 3)}, [(7, 7, 3)], F),
    # Recurrent
    ("SimpleRNN", {"units": 16}, [(10, 8)], F),
    ("LSTM", {"units": 64}, [(None, 32)], F),
    ("LSTM", {"units": 64, "return_sequences": True}, [(20, 32)], F),
    ("LSTM", {"units": 8, "use_bias": False}, [(20, 3)], F),
    ("GRU", {"units": 32}, [(20, 16)], F),
    ("GRU", {"units": 32, "reset_after": False}, [(20, 16)], F),
    ("GRU", {"units": 32, "use_bias": False}, [(20, 16)], F),
    ("LSTM", {"units": 8}, [(28, 28, 1)], F),
    ("LSTM", {"units": 8}, [(32,)], F),
    ("Bidirectional", {"layer": {"type": "LSTM", "params": {"units": 32}}}, [(20, 16)], F),
    ("Bidirectional", {"layer": {"type": "GRU", "params": {"units": 8, "return_sequences": True}}, "merge_mode": "sum"}, [(20, 16)], F),
    ("Bidirectional", {"layer": {"type": "SimpleRNN", "params": {"units": 4}}, "merge_mode": "ave"}, [(20, 16)], F),
    # Merge
    ("Add", {}, [(28, 28, 64), (28, 28, 64)], F),
    ("Add", {}, [(28, 28, 64), (28, 28, 128)], F),
    ("Add", {}, [(28, 28, 64), (14, 14, 64)], F),
    ("Add", {}, [(4, 5), (5,)], F),
    ("Add", {}, [(4, 5), (1, 5)], F),
    ("Add", {}, [(4, 1), (1, 5)], F),
    ("Add", {}, [(None, 5), (3, 5)], F),
    ("Add", {}, [(3,), (3,), (3,)], F),
    ("Subtract", {}, [(10,), (10,)], F),
    ("Multiply", {}, [(8, 8, 16), (1, 1, 16)], F),
    ("Average", {}, [(10,), (10,)], F),
    ("Maximum", {}, [(10,), (4,)], F),
    ("Minimum", {}, [(6, 2), (6, 2)], F),
    ("Concatenate", {}, [(8, 8, 32), (8, 8, 64)], F),
    ("Concatenate", {}, [(8, 8, 32), (4, 4, 64)], F),
    ("Concatenate", {"axis": 1}, [(8, 8, 32), (4, 8, 32)], F),
    ("Concatenate", {"axis": 1}, [(8, 8, 32), (4, 8, 16)], F),
    ("Concatenate", {}, [(8, 32), (8, 8, 32)], F),
    ("Concatenate", {}, [(None, 32), (8, 16)], F),
    ("Concatenate", {}, [(10,), (20,), (30,)], F),
    ("Concatenate", {"axis": 0}, [(4, 5), (4, 5)], F),
    ("Concatenate", {"axis": 0}, [(4, 5), (4, 6)], F),
    ("Concatenate", {"axis": 3}, [(4, 5), (4, 5)], F),
    # Preprocessing
    ("Rescaling", {"scale": 1 / 255}, [(32, 32, 3)], F),
    ("Rescaling", {"scale": 1 / 127.5, "offset": -1.0}, [(10,)], F),
    ("Rescaling", {"scale": [0.5, 0.25, 0.125]}, [(8, 8, 3)], F),
    ("Normalization", {}, [(28, 28, 3)], F),
    ("Normalization", {"axis": [1, 3]}, [(4, 5, 3)], F),
    ("Normalization", {"axis": None}, [(4, 5, 3)], F),
    ("Normalization", {"mean": [1.0, 2.0, 3.0], "variance": [1.0, 1.0, 1.0]}, [(8, 8, 3)], F),
    ("Normalization", {}, [(8, None)], F),
    ("Resizing", {"height": 64, "width": 48}, [(100, 120, 3)], F),
    ("Resizing", {"height": 64, "width": 48, "crop_to_aspect_ratio": True}, [(None, None, 3)], F),
    ("CenterCrop", {"height": 20, "width": 20}, [(32, 32, 3)], F),
    ("CenterCrop", {"height": 40, "width": 40}, [(32, 32, 3)], F),
    ("RandomCrop", {"height": 20, "width": 24}, [(32, 32, 3)], F),
    ("RandomFlip", {"mode": "horizontal"}, [(32, 32, 3)], F),
    ("RandomRotation", {"factor": 0.1}, [(32, 32, 3)], F),
    ("RandomRotation", {"factor": (-0.2, 0.3)}, [(32, 32, 3)], F),
    ("RandomZoom", {"height_factor": 0.2}, [(32, 32, 3)], F),
    ("RandomTranslation", {"height_factor": 0.1, "width_factor": 0.2}, [(32, 32, 1)], F),
    ("RandomContrast", {"factor": 0.2}, [(32, 32, 3)], F),
    # 1-D and 3-D
    ("Conv3D", {"filters": 8, "kernel_size": (3, 3, 3)}, [(16, 32, 32, 1)], F),
    ("Conv3D", {"filters": 8, "kernel_size": (3, 3, 3), "strides": (1, 2, 2), "padding": "same", "use_bias": False}, [(16, 32, 32, 4)], F),
    ("Conv3D", {"filters": 8, "kernel_size": (5, 3, 3)}, [(4, 32, 32, 1)], F),
    ("Conv3D", {"filters": 8, "kernel_size": (3, 3, 3)}, [(32, 32, 3)], F),
    ("Conv1DTranspose", {"filters": 4, "kernel_size": (3,), "strides": (2,)}, [(10, 8)], F),
    ("Conv1DTranspose", {"filters": 4, "kernel_size": (3,), "strides": (2,), "padding": "same"}, [(10, 8)], F),
    ("Conv3DTranspose", {"filters": 4, "kernel_size": (3, 3, 3), "strides": (2, 2, 2), "padding": "same"}, [(4, 8, 8, 2)], F),
    ("Conv3DTranspose", {"filters": 4, "kernel_size": (2, 2, 2), "strides": (2, 2, 2)}, [(4, 8, 8, 2)], F),
    ("DepthwiseConv1D", {"kernel_size": (3,)}, [(20, 8)], F),
    ("DepthwiseConv1D", {"kernel_size": (5,), "depth_multiplier": 2, "strides": (2,), "padding": "same", "use_bias": False}, [(20, 8)], F),
    ("SeparableConv1D", {"filters": 16, "kernel_size": (3,)}, [(20, 8)], F),
    ("SeparableConv1D", {"filters": 16, "kernel_size": (3,), "depth_multiplier": 2}, [(20, 8)], F),
    ("MaxPooling3D", {"pool_size": (2, 2, 2)}, [(16, 32, 32, 4)], F),
    ("MaxPooling3D", {"pool_size": (2, 3, 3), "strides": (1, 2, 2), "padding": "same"}, [(15, 31, 31, 4)], F),
    ("AveragePooling3D", {"pool_size": (2, 2, 2)}, [(16, 32, 32, 4)], F),
    ("AveragePooling3D", {"pool_size": (4, 4, 4)}, [(2, 8, 8, 4)], F),
    ("GlobalAveragePooling3D", {}, [(4, 8, 8, 16)], F),
    ("GlobalAveragePooling3D", {"keepdims": True}, [(4, 8, 8, 16)], F),
    ("GlobalMaxPooling3D", {}, [(4, 8, 8, 16)], F),
    ("ZeroPadding1D", {"padding": 2}, [(10, 3)], F),
    ("ZeroPadding1D", {"padding": (1, 3)}, [(10, 3)], F),
    ("ZeroPadding3D", {"padding": 1}, [(4, 8, 8, 3)], F),
    ("ZeroPadding3D", {"padding": ((1, 0), (2, 2), (0, 3))}, [(4, 8, 8, 3)], F),
    ("Cropping1D", {"cropping": (1, 2)}, [(10, 3)], F),
    ("Cropping1D", {"cropping": (5, 5)}, [(10, 3)], F),
    ("Cropping3D", {"cropping": 1}, [(4, 8, 8, 3)], F),
    ("UpSampling1D", {"size": 3}, [(10, 3)], F),
    ("UpSampling3D", {"size": (2, 2, 2)}, [(4, 8, 8, 3)], F),
    ("SpatialDropout3D", {"rate": 0.2}, [(4, 8, 8, 3)], F),
    ("SpatialDropout3D", {"rate": 0.2}, [(8, 8, 3)], F),
    # Attention
    ("MultiHeadAttention", {"num_heads": 2, "key_dim": 16}, [(10, 32), (12, 32)], F),
    ("MultiHeadAttention", {"num_heads": 4, "key_dim": 8, "value_dim": 6, "output_shape": (20,)}, [(10, 32), (12, 24), (12, 16)], F),
    ("MultiHeadAttention", {"num_heads": 2, "key_dim": 16, "use_bias": False, "return_attention_scores": True}, [(10, 32), (12, 32)], F),
    ("MultiHeadAttention", {"num_heads": 2, "key_dim": 4, "use_gate": True}, [(10, 32), (12, 32)], F),
    ("MultiHeadAttention", {"num_heads": 2, "key_dim": 4, "attention_axes": (2,), "return_attention_scores": True}, [(5, 6, 8), (5, 7, 8)], F),
    ("MultiHeadAttention", {"num_heads": 2, "key_dim": 4}, [(10, 32), (12, 32), (13, 32)], F),
    ("Attention", {}, [(10, 16), (12, 16)], F),
    ("Attention", {"use_scale": True, "score_mode": "concat", "return_attention_scores": True}, [(10, 16), (12, 8), (12, 16)], F),
    ("AdditiveAttention", {}, [(10, 16), (12, 16)], F),
    ("AdditiveAttention", {"use_scale": False}, [(10, 16), (12, 4)], F),
    ("Dot", {"axes": 1}, [(16,), (16,)], F),
    ("Dot", {"axes": (2, 2), "normalize": True}, [(10, 16), (12, 16)], F),
    ("Dot", {"axes": -1}, [(10, 16), (10, 16)], F),
    ("Dot", {"axes": 1}, [(16,), (8,)], F),
    # Wrappers and recurrent states
    ("TimeDistributed", {"layer": {"type": "Dense", "params": {"units": 8}}}, [(10, 16)], F),
    ("TimeDistributed", {"layer": {"type": "Conv2D", "params": {"filters": 4, "kernel_size": 3}}}, [(5, 16, 16, 3)], F),
    ("TimeDistributed", {"layer": {"type": "BatchNormalization", "params": {}}}, [(5, 16, 3)], F),
    ("TimeDistributed", {"layer": {"type": "Conv2D", "params": {"filters": 4, "kernel_size": 3}}}, [(16, 16)], F),
    ("LSTM", {"units": 16, "return_state": True}, [(20, 8)], F),
    ("GRU", {"units": 16, "return_state": True, "return_sequences": True}, [(20, 8)], F),
    ("SimpleRNN", {"units": 4, "return_state": True}, [(20, 8)], F),
    ("LSTM", {"units": 16}, [(20, 8), (16,), (16,)], F),
    ("GRU", {"units": 16}, [(20, 8), (16,)], F),
    # More core layers
    ("PReLU", {}, [(8, 8, 3)], F),
    ("PReLU", {"shared_axes": (1, 2)}, [(8, 8, 3)], F),
    ("PReLU", {"shared_axes": (1,)}, [(None, 3)], F),
    ("ELU", {"alpha": 0.5}, [(10,)], F),
    ("GaussianNoise", {"stddev": 0.1}, [(10,)], F),
    ("GaussianDropout", {"rate": 0.3}, [(10, 4)], F),
    ("AlphaDropout", {"rate": 0.1}, [(10,)], F),
    ("ActivityRegularization", {"l1": 0.01}, [(10,)], F),
    ("RepeatVector", {"n": 5}, [(16,)], F),
    ("RepeatVector", {"n": 5}, [(4, 16)], F),
    ("Masking", {"mask_value": 0.0}, [(20, 8)], F),
    ("Identity", {}, [(3, 4)], F),
    ("GroupNormalization", {"groups": 4}, [(8, 8, 16)], F),
    ("GroupNormalization", {"groups": 3}, [(8, 8, 16)], F),
    ("GroupNormalization", {"groups": 32}, [(8, 8, 16)], F),
    ("UnitNormalization", {}, [(16,)], F),
    ("UnitNormalization", {"axis": (1, 2)}, [(4, 4, 3)], F),
    ("LayerNormalization", {"axis": (1, 2, 3)}, [(8, 8, 4)], F),
    ("LayerNormalization", {"axis": (-2, -1)}, [(8, 4)], F),
    # keras.applications' own layers
    ("LayerScale", {"init_values": 1e-6, "projection_dim": 96}, [(7, 7, 96)], F),
    ("CustomScaleLayer", {"scale": 0.17}, [(8, 8, 32), (8, 8, 32)], F),
    # Operations
    ("ops.add", {"operand": 3.0}, [(4, 4, 8)], F),
    ("ops.add", {}, [(4, 4, 8), (1, 1, 8)], F),
    ("ops.add", {}, [(4, 4, 8), (4, 4, 6)], F),
    ("ops.subtract", {"operand": 1.0, "operand_first": True}, [(10,)], F),
    ("ops.multiply", {"operand": 1 / 6}, [(10, 3)], F),
    ("ops.divide", {}, [(10, 3), (10, 3)], F),
    ("ops.true_divide", {"operand": 2.0}, [(10, 3)], F),
    ("ops.power", {"operand": 2.0}, [(5,)], F),
    ("ops.maximum", {"operand": 0.0}, [(5,)], F),
    ("ops.minimum", {}, [(5,), (5,)], F),
    ("ops.not_equal", {"operand": 0.0}, [(20, 8)], F),
    ("ops.equal", {}, [(20, 8), (20, 8)], F),
    ("ops.greater", {"operand": 0.5}, [(3,)], F),
    ("ops.less_equal", {"operand": 0.5}, [(3,)], F),
    ("ops.less", {}, [(3, 1), (1, 4)], F),
    ("ops.greater_equal", {"operand": 1.0, "operand_first": True}, [(3,)], F),
    ("ops.logical_or", {}, [(3,), (2,)], "bool"),
    ("ops.logical_and", {}, [(3,), (3,)], "bool"),
    ("ops.negative", {}, [(3, 4)], F),
    ("ops.sqrt", {}, [(3, 4)], F),
    ("ops.square", {}, [(3, 4)], F),
    ("ops.abs", {}, [(3, 4)], F),
    ("ops.exp", {}, [(3, 4)], F),
    ("ops.log", {}, [(3, 4)], F),
    ("ops.logical_not", {}, [(3, 4)], "bool"),
    ("ops.mean", {"axis": 1}, [(49, 64)], F),
    ("ops.mean", {"axis": (1, 2), "keepdims": True}, [(7, 7, 64)], F),
    ("ops.sum", {"axis": -1}, [(7, 7, 64)], F),
    ("ops.max", {"axis": 2}, [(7, 7, 64)], F),
    ("ops.min", {"axis": 1}, [(7, 64)], F),
    ("ops.any", {"axis": -1}, [(20, 8)], "bool"),
    ("ops.all", {"axis": -1, "keepdims": True}, [(20, 8)], "bool"),
    ("ops.mean", {"axis": 4}, [(7, 64)], F),
    ("ops.expand_dims", {"axis": -1}, [(10,)], F),
    ("ops.expand_dims", {"axis": 1}, [(10, 3)], F),
    ("ops.squeeze", {"axis": 1}, [(1, 10)], F),
    ("ops.squeeze", {"axis": 2}, [(1, 10)], F),
    ("ops.cast", {"dtype": "int32"}, [(10,)], F),
]


def _engine(layer_type: str, params: dict[str, Any], shapes: list[tuple], dtype: str):
    graph = NetworkGraph()
    target = graph.add_node(layer_type, params)
    for shape in shapes:
        graph.connect(graph.add_node("Input", {"shape": list(shape), "dtype": dtype}), target)
    return analyse(graph), target


def _keras(layer_type: str, params: dict[str, Any], shapes: list[tuple], dtype: str):
    """Every output shape, the parameter count and the non-trainable count Keras gives (or Keras's exception)."""
    inputs = [keras.Input(shape=s, dtype=dtype) for s in shapes]
    out, layer = keras_call(layer_type, params, inputs)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    if layer is None:
        return tuple(tuple(o.shape[1:]) for o in outs), 0, 0
    non_trainable = sum(math.prod(w.shape) for w in layer.non_trainable_weights)
    return tuple(tuple(o.shape[1:]) for o in outs), layer.count_params(), non_trainable


def test_every_layer_type_has_parity_cases() -> None:
    covered = {case[0] for case in CASES}
    assert covered == set(CATALOGUE) - {"Input"}


@pytest.mark.parametrize("layer_type,params,shapes,dtype", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_layer_matches_keras(layer_type: str, params: dict[str, Any], shapes: list[tuple], dtype: str) -> None:
    analysis, node = _engine(layer_type, params, shapes, dtype)
    result = analysis[node]
    try:
        expected = _keras(layer_type, params, shapes, dtype)
    except Exception as exc:  # Keras refuses: LayerLab must report an error on this layer
        assert result.status == "error", f"Keras refuses ({exc}) but LayerLab computed {result.shape}"
        assert [d for d in analysis.diagnostics_for(node) if d.severity == "error"]
        return
    assert result.status == "ok", f"Keras accepts but LayerLab says: {[str(d) for d in analysis.diagnostics_for(node)]}"
    assert (tuple(t.shape for t in result.outputs), result.params.total, result.params.non_trainable) == expected
    if CATALOGUE[layer_type].call == "op" or layer_type.startswith("ops."):
        assert result.output.dtype == str(expected_dtype(layer_type, params, shapes, dtype))


SEED_LESSONS = [
    ("lesson_dense_last_axis.json", 13),
    ("lesson_conv_vs_dense.json", 1_200 + 1_327_104),
    ("lesson_bottleneck.json", 147_456 + 40_960),
    ("lesson_padding_stride.json", 4 * 208),
]


@pytest.mark.parametrize("file,total", SEED_LESSONS)
def test_seed_lessons_match_keras(file: str, total: int) -> None:
    from engine.project import load_project
    from tests.conftest import EXAMPLES

    graph, _ = load_project(EXAMPLES / file)
    analysis = analyse(graph)
    assert analysis.total_params == total
    _assert_model_parity(graph, analysis)


def _assert_model_parity(graph: NetworkGraph, analysis) -> None:
    model = keras_model(graph)
    for layer in model.layers:
        assert engine_numbers(graph, analysis, layer.name) == layer_numbers(layer)


def test_dense_with_and_without_bias_lesson() -> None:
    from engine.project import load_project
    from tests.conftest import EXAMPLES

    graph, _ = load_project(EXAMPLES / "lesson_dense_last_axis.json")
    for node in list(graph.nodes()):
        if node.type == "Dense":
            graph.set_param(node.id, "use_bias", True)
    analysis = analyse(graph)
    assert analysis.total_params == 18
    _assert_model_parity(graph, analysis)


def test_bundled_examples_match_keras() -> None:
    from engine.project import load_project
    from tests.conftest import EXAMPLES

    for path in sorted(EXAMPLES.glob("*.json")):
        if path.name == "densenet121.json":
            continue  # covered layer by layer by test_applications_match_keras
        graph, _ = load_project(path)
        analysis = analyse(graph)
        assert analysis.is_valid, path.name
        _assert_model_parity(graph, analysis)
