"""LayerLab engine: the layer catalogue, graph model, analysis, project files, Keras import/export and training.

Pure Python and networkx. Never imports Qt; imports TensorFlow/Keras only inside the functions that need them.
"""
