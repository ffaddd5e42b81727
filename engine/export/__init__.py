"""Every way a design leaves LayerLab as a model: ONNX, LiteRT and SavedModel files proven equal to Keras
(`engine.export.formats`), PyTorch code (`engine.export.torch_code`), all built on one Keras model
(`engine.export.keras_model`).

Nothing here imports TensorFlow, ONNX Runtime, LiteRT or PyTorch at module level.
"""
