"""Loss scaling for TensorFlow's replicas: each replica's loss is its share of the batch."""

import keras


def per_replica_loss(loss):
    """Divides a global-batch loss by the replicas of a TensorFlow strategy.

    Under `tf.distribute`, each replica's gradients are summed, so each
    replica's loss must be its share (Keras does the same for its own losses;
    JAX's DataParallel computes the global loss once and needs nothing).
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:
            loss = loss / float(replicas)
    return loss
