"""Architectures written the way Keras's code examples write them (keras.io/examples), functional style.

Each builder returns an unbuilt-weights ``keras.Model``. They exercise what ``keras.applications`` does
not: attention, seq2seq states, shared layers, nested models, preprocessing, 1-D and 3-D layers,
TimeDistributed, masking and the less common activations and regularisers. Imported by
``make_corpus.py`` only (it needs Keras).
"""

from __future__ import annotations


def mnist_convnet():
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ],
        name="mnist_convnet",
    )


def image_classification_from_scratch():
    import keras
    from keras import layers

    augmentation = keras.Sequential(
        [layers.RandomFlip("horizontal"), layers.RandomRotation(0.1), layers.RandomZoom(0.1)], name="data_augmentation"
    )
    inputs = keras.Input(shape=(180, 180, 3))
    x = augmentation(inputs)
    x = layers.Rescaling(1.0 / 255)(x)
    x = layers.Conv2D(128, 3, strides=2, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    previous = x
    for size in [256, 512]:
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        residual = layers.Conv2D(size, 1, strides=2, padding="same")(previous)
        x = layers.add([x, residual])
        previous = x
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.25)(x)
    outputs = layers.Dense(1)(x)
    return keras.Model(inputs, outputs, name="xception_small")


def oxford_pets_unet():
    import keras
    from keras import layers

    inputs = keras.Input(shape=(160, 160, 3))
    x = layers.Resizing(128, 128)(inputs)
    x = layers.CenterCrop(120, 120)(x)
    x = layers.Conv2D(32, 3, strides=2, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    previous = x
    for filters in [64, 128]:
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(filters, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        residual = layers.Conv2D(filters, 1, strides=2, padding="same")(previous)
        x = layers.add([x, residual])
        previous = x
    for filters in [128, 64, 32]:
        x = layers.Activation("relu")(x)
        x = layers.Conv2DTranspose(filters, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.UpSampling2D(2)(x)
        residual = layers.UpSampling2D(2)(previous)
        residual = layers.Conv2D(filters, 1, padding="same")(residual)
        x = layers.add([x, residual])
        previous = x
    outputs = layers.Conv2D(3, 3, activation="softmax", padding="same")(x)
    return keras.Model(inputs, outputs, name="oxford_pets_unet")


def text_transformer():
    import keras
    from keras import layers

    inputs = keras.Input(shape=(200,), dtype="int32")
    x = layers.Embedding(20000, 32)(inputs)
    attention = layers.MultiHeadAttention(num_heads=2, key_dim=32)(x, x)
    attention = layers.Dropout(0.1)(attention)
    x = layers.LayerNormalization(epsilon=1e-6)(layers.add([x, attention]))
    ffn = layers.Dense(32, activation="relu")(x)
    ffn = layers.Dense(32)(ffn)
    ffn = layers.Dropout(0.1)(ffn)
    x = layers.LayerNormalization(epsilon=1e-6)(layers.add([x, ffn]))
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Dense(20, activation="relu")(x)
    outputs = layers.Dense(2, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="text_transformer")


def lstm_seq2seq():
    import keras
    from keras import layers

    encoder_inputs = keras.Input(shape=(None, 71))
    _, state_h, state_c = layers.LSTM(256, return_state=True)(encoder_inputs)
    decoder_inputs = keras.Input(shape=(None, 93))
    decoder_outputs, _, _ = layers.LSTM(256, return_sequences=True, return_state=True)(
        decoder_inputs, initial_state=[state_h, state_c]
    )
    outputs = layers.Dense(93, activation="softmax")(decoder_outputs)
    return keras.Model([encoder_inputs, decoder_inputs], outputs, name="lstm_seq2seq")


def siamese_network():
    import keras
    from keras import layers

    embedding_input = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(16, 5, activation="tanh")(embedding_input)
    x = layers.AveragePooling2D(2)(x)
    x = layers.Conv2D(32, 5, activation="tanh")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(10, activation="tanh")(x)
    embedding = keras.Model(embedding_input, x, name="embedding")
    left = keras.Input(shape=(28, 28, 1), name="left")
    right = keras.Input(shape=(28, 28, 1), name="right")
    distance = layers.Subtract()([embedding(left), embedding(right)])
    normal = layers.UnitNormalization()(distance)
    outputs = layers.Dense(1, activation="sigmoid")(normal)
    return keras.Model([left, right], outputs, name="siamese")


def shared_dense_tower():
    import keras
    from keras import layers

    a = keras.Input(shape=(16,), name="a")
    b = keras.Input(shape=(16,), name="b")
    shared = layers.Dense(8, activation="relu", name="shared_dense")
    merged = layers.Concatenate()([shared(a), shared(b)])
    outputs = layers.Dense(1)(merged)
    return keras.Model([a, b], outputs, name="shared_tower")


def video_classifier_3d():
    import keras
    from keras import layers

    inputs = keras.Input(shape=(16, 64, 64, 1))
    x = layers.Conv3D(16, 3, activation="relu")(inputs)
    x = layers.MaxPooling3D(2)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Conv3D(32, 3, padding="same", activation="relu")(x)
    x = layers.AveragePooling3D(2)(x)
    x = layers.SpatialDropout3D(0.1)(x)
    x = layers.ZeroPadding3D(1)(x)
    x = layers.Cropping3D(1)(x)
    x = layers.UpSampling3D(2)(x)
    x = layers.Conv3DTranspose(8, 3, strides=2, padding="same")(x)
    x = layers.GlobalMaxPooling3D()(x)
    y = layers.GlobalAveragePooling3D()(layers.MaxPooling3D(4)(inputs))
    x = layers.Concatenate()([x, y])
    outputs = layers.Dense(5, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="video_3d")


def cnn_lstm_time_distributed():
    import keras
    from keras import layers

    inputs = keras.Input(shape=(10, 32, 32, 3))
    x = layers.TimeDistributed(layers.Conv2D(8, 3, activation="relu"))(inputs)
    x = layers.TimeDistributed(layers.MaxPooling2D(2))(x)
    x = layers.TimeDistributed(layers.Flatten())(x)
    x = layers.TimeDistributed(layers.Dense(32))(x)
    x = layers.GRU(16, return_sequences=True)(x)
    x = layers.Bidirectional(layers.LSTM(8))(x)
    outputs = layers.Dense(3)(x)
    return keras.Model(inputs, outputs, name="cnn_lstm")


def timeseries_conv1d():
    import keras
    from keras import layers

    inputs = keras.Input(shape=(500, 1))
    x = layers.Normalization(axis=-1)(inputs)
    x = layers.Conv1D(64, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.SeparableConv1D(64, 3, padding="same")(x)
    x = layers.DepthwiseConv1D(3, depth_multiplier=2)(x)
    x = layers.MaxPooling1D(2)(x)
    x = layers.AveragePooling1D(2)(x)
    x = layers.ZeroPadding1D(2)(x)
    x = layers.Cropping1D((1, 2))(x)
    x = layers.UpSampling1D(2)(x)
    x = layers.Conv1DTranspose(16, 3, strides=2)(x)
    x = layers.GroupNormalization(groups=4)(x)
    x = layers.GlobalAveragePooling1D()(x)
    outputs = layers.Dense(2, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="timeseries_conv1d")


def attention_layers():
    import keras
    from keras import layers

    query_input = keras.Input(shape=(None,), dtype="int32", name="query")
    value_input = keras.Input(shape=(None,), dtype="int32", name="value")
    token_embedding = layers.Embedding(input_dim=1000, output_dim=64)
    query = token_embedding(query_input)
    value = token_embedding(value_input)
    conv = layers.Conv1D(filters=100, kernel_size=4, padding="same")
    query_seq = conv(query)
    value_seq = conv(value)
    attended = layers.Attention()([query_seq, value_seq])
    additive = layers.AdditiveAttention()([query_seq, value_seq])
    q = layers.GlobalAveragePooling1D()(query_seq)
    a = layers.GlobalAveragePooling1D()(attended)
    b = layers.GlobalAveragePooling1D()(additive)
    dot = layers.Dot(axes=1, normalize=True)([q, a])
    x = layers.Concatenate()([q, a, b, dot])
    outputs = layers.Dense(1)(x)
    return keras.Model([query_input, value_input], outputs, name="attention_layers")


def masked_lstm():
    import keras
    from keras import layers

    inputs = keras.Input(shape=(20, 8))
    x = layers.Masking(mask_value=0.0)(inputs)
    x = layers.LSTM(16, return_sequences=True)(x)
    x = layers.LSTM(8)(x)
    x = layers.RepeatVector(5)(x)
    x = layers.SimpleRNN(4, return_sequences=True)(x)
    outputs = layers.TimeDistributed(layers.Dense(2))(x)
    return keras.Model(inputs, outputs, name="masked_lstm")


def denoising_autoencoder():
    import keras
    from keras import layers

    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.GaussianNoise(0.1)(inputs)
    x = layers.Conv2D(32, 3, padding="same")(x)
    x = layers.PReLU(shared_axes=[1, 2])(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(16, 3, padding="same")(x)
    x = layers.ELU()(x)
    x = layers.GaussianDropout(0.1)(x)
    x = layers.AlphaDropout(0.1)(x)
    x = layers.ActivityRegularization(l1=1e-5)(x)
    x = layers.Identity()(x)
    x = layers.Conv2DTranspose(16, 3, strides=2, padding="same")(x)
    x = layers.LayerNormalization(axis=[1, 2, 3])(x)
    x = layers.BatchNormalization(axis=3)(x)
    outputs = layers.Conv2D(1, 3, activation="sigmoid", padding="same")(x)
    return keras.Model(inputs, outputs, name="denoising_autoencoder")


def vision_transformer_small():
    import keras
    from keras import layers, ops

    inputs = keras.Input(shape=(32, 32, 3))
    x = layers.RandomTranslation(0.1, 0.1)(inputs)
    x = layers.RandomContrast(0.2)(x)
    x = layers.RandomCrop(28, 28)(x)
    patches = layers.Conv2D(64, 4, strides=4)(x)
    x = layers.Reshape((49, 64))(patches)
    attention, scores = layers.MultiHeadAttention(num_heads=4, key_dim=16, dropout=0.1)(
        x, x, return_attention_scores=True
    )
    x = layers.Add()([x, attention])
    x = layers.LayerNormalization()(x)
    y = ops.mean(x, axis=1)
    y = y * 2.0 + 1.0
    s = ops.mean(scores, axis=[1, 2, 3])
    s = ops.expand_dims(s, -1)
    x = layers.Concatenate()([y, s])
    outputs = layers.Dense(10)(x)
    return keras.Model(inputs, outputs, name="vit_small")


ARCHITECTURES = {
    f.__name__: f
    for f in (
        mnist_convnet,
        image_classification_from_scratch,
        oxford_pets_unet,
        text_transformer,
        lstm_seq2seq,
        siamese_network,
        shared_dense_tower,
        video_classifier_3d,
        cnn_lstm_time_distributed,
        timeseries_conv1d,
        attention_layers,
        masked_lstm,
        denoising_autoencoder,
        vision_transformer_small,
    )
}
