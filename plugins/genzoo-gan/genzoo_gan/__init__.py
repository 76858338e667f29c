"""genzoo-gan: the vanilla MLP GAN (Goodfellow et al. 2014) as a genzoo plugin.

Importing this package is cheap; the Keras model lives in :mod:`genzoo_gan.model`.
"""

__version__ = "1.5.0"
