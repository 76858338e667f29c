"""genzoo-cgan: the class-conditional GAN (Mirza & Osindero 2014) as a genzoo plugin.

Importing this package is cheap; the Keras model lives in :mod:`genzoo_cgan.model`.
"""

__version__ = "1.5.0"
