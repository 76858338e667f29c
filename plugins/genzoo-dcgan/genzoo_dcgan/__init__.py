"""genzoo-dcgan: the deep convolutional GAN (Radford et al. 2016) as a genzoo plugin.

Importing this package is cheap; the Keras model lives in :mod:`genzoo_dcgan.model`.
"""

__version__ = "1.5.0"
