"""genzoo-stackgan: StackGAN (Zhang et al. 2017), text to image in two stages, as a genzoo plugin.

Importing this package is cheap; the Keras model lives in :mod:`genzoo_stackgan.model`,
the captioned-shapes dataset in :mod:`genzoo_stackgan.shapes`.
"""

__version__ = "1.5.0"
