import keras
import numpy as np
import tensorflow as tf

from genzoo_core import GenerativeModel, GenzooError, losses, replica_scale
from toyzoo.plugin import CONDITIONAL_SPEC, LIKELIHOOD_SPEC, SPEC


class ToyGAN(GenerativeModel):
    spec = SPEC

    def __init__(self, config=None, **overrides):
        super().__init__(config, **overrides)
        c = self._genzoo_config
        shape = tuple(c["image_shape"])
        z = keras.Input((c["latent_dim"],))
        h = keras.layers.Dense(c["units"], activation="relu", name="hidden")(z)
        out = keras.layers.Dense(int(np.prod(shape)), activation="sigmoid", name="out")(h)
        self.generator = keras.Model(z, keras.layers.Reshape(shape, name="image")(out),
                                     name="generator")
        x = keras.Input(shape)
        h = keras.layers.Flatten(name="flat")(x)
        h = keras.layers.Dense(c["units"], activation="relu", name="hidden")(h)
        h = keras.layers.Dropout(0.2, name="dropout")(h)  # holds an auto-named SeedGenerator
        self.discriminator = keras.Model(x, keras.layers.Dense(1, name="logit")(h),
                                         name="discriminator")
        self.gan_loss = losses.get_gan_loss(c["loss"])

    def make_optimizers(self):
        lr = self._genzoo_config["learning_rate"]
        return {name: keras.optimizers.Adam(lr, name=name)
                for name in ("generator", "discriminator")}

    def train_step(self, batch):
        real = batch["images"]
        n = tf.shape(real)[0]
        z = tf.random.normal((n, self._genzoo_config["latent_dim"]))
        with tf.GradientTape() as tape:
            d_loss = self.gan_loss.discriminator(self.discriminator(real),
                                                 self.discriminator(self.generator(z)))
            scaled = replica_scale(d_loss)
        variables = self.discriminator.trainable_variables
        self.optimizers["discriminator"].apply_gradients(zip(tape.gradient(scaled, variables),
                                                             variables))
        with tf.GradientTape() as tape:
            g_loss = self.gan_loss.generator(self.discriminator(self.generator(z)))
            scaled = replica_scale(g_loss)
        variables = self.generator.trainable_variables
        self.optimizers["generator"].apply_gradients(zip(tape.gradient(scaled, variables),
                                                         variables))
        return {"d_loss": d_loss, "g_loss": g_loss}

    def generate(self, n, *, condition, rng):
        if condition is not None:
            raise GenzooError("toygan is unconditional")
        z = rng.standard_normal((n, self._genzoo_config["latent_dim"])).astype("float32")
        return self.predict_in_batches(lambda b: self.generator(b, training=False), z)


class ToyCGAN(ToyGAN):
    """Class-conditional toy: label 1 draws bright images, label 0 dark ones."""

    spec = CONDITIONAL_SPEC

    def generate(self, n, *, condition, rng):
        labels = np.arange(n) % 2 if condition is None else np.asarray(condition)
        if labels.shape != (n,) or labels.min() < 0 or labels.max() > 1:
            raise GenzooError("toycgan takes n labels in [0, 2)")
        base = np.where(labels[:, None, None, None] == 1, 0.8, 0.2)
        return np.clip(base + 0.05 * rng.standard_normal((n, 4, 4, 1)), 0, 1).astype("float32")


class ToyLikelihood(ToyGAN):
    """A 'likelihood model' whose log p(x) is -sum(x) nats: transparent for tests."""

    spec = LIKELIHOOD_SPEC

    def log_prob(self, x):
        return -np.asarray(x, dtype=np.float64).reshape(len(x), -1).sum(axis=1)
