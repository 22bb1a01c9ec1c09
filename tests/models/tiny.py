"""The tiny configuration of each method the model tests build, and its head's size.

`TINY[cls]`: constructor arguments on the tiny backbone at 32 px, 20 classes.
`HEAD_PARAMETERS[cls]`: the trainable parameters outside the backbone,
counted by hand from the method's layers (an `LSTM(in -> u)` has
`4u(in + u + 1)`); `run_model_test` checks the built model against it.
"""

import keras_mlrnn as km

C, D = 20, 128  # classes; channels of the tiny backbone's 4x4 feature map


def lstm(inputs, units):
    """Parameters of an LSTM cell: four gates of `units`, each with input, recurrent and bias."""
    return 4 * units * (inputs + units + 1)


def dense(inputs, units, bias=True):
    """Parameters of a Dense layer."""
    return inputs * units + (units if bias else 0)


TINY = {
    km.BinaryRelevance: dict(num_classes=C, backbone="tiny", image_size=32),
    km.CNNRNN: dict(
        num_classes=C, backbone="tiny", image_size=32, lstm_units=16, embedding_dim=8, max_length=4
    ),
    km.OrderFreeRNN: dict(
        num_classes=C,
        backbone="tiny",
        image_size=32,
        attention_units=8,
        lstm_units=16,
        hidden_units=16,
        max_length=4,
    ),
    km.RegionAttentionRNN: dict(
        num_classes=C, backbone="tiny", image_size=32, num_regions=3, hidden_units=16, lstm_units=16
    ),
    km.MultiOrderRNN: dict(
        num_classes=C, backbone="tiny", image_size=32, steps=3, lstm_units=16, embedding_dim=8
    ),
    km.CoarseToFineRNN: dict(
        num_classes=C,
        backbone="tiny",
        image_size=32,
        steps=3,
        attention_units=8,
        lstm_units=16,
        embedding_dim=8,
    ),
}

HEAD_PARAMETERS = {
    km.BinaryRelevance: dense(D, C),
    # label embedding (C labels, START, END), LSTM on it, both projections to E.
    km.CNNRNN: (C + 2) * 8 + lstm(8, 16) + dense(16, 8) + dense(D, 8),
    # v_prob; attention (feature projection, query, score); h0, c0; the LSTM
    # reads v_pred, z_t (D) and y~; f_pred reads those and h_t.
    km.OrderFreeRNN: dense(D, C)
    + dense(D, 8)
    + dense(16, 8, bias=False)
    + dense(8, 1, bias=False)
    + 2 * dense(D, 16)
    + lstm(C + D + C, 16)
    + dense(C + D + C + 16, 16)
    + dense(16, C),
    # a 4x4 region of D channels -> hidden; LSTM; z; region scores; theta (4).
    km.RegionAttentionRNN: dense(4 * 4 * D, 16)
    + lstm(16, 16)
    + dense(16, 16)
    + dense(16, C)
    + dense(16, 4),
    # confidence head; h0, c0 from the C confidences; embedding (C + START); LSTM; classifier.
    km.MultiOrderRNN: dense(D, C) + 2 * dense(C, 16) + (C + 1) * 8 + lstm(8, 16) + dense(16, C),
    # global attention score; h0, c0; local attention; embedding; the LSTM
    # reads the attended feature (D) and the label embedding; classifier.
    km.CoarseToFineRNN: dense(D, 1)
    + 2 * dense(D, 16)
    + dense(D, 8)
    + dense(16, 8, bias=False)
    + dense(8, 1, bias=False)
    + (C + 1) * 8
    + lstm(D + 8, 16)
    + dense(16, C),
}
