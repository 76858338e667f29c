"""genzoo plugin: a convolutional variational autoencoder (``vae``)."""
