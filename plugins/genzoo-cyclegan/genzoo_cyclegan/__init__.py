"""genzoo-cyclegan: CycleGAN (Zhu et al. 2017) as a genzoo plugin.

Importing this package is cheap; the Keras model lives in :mod:`genzoo_cyclegan.model`.
"""

__version__ = "1.5.0"
