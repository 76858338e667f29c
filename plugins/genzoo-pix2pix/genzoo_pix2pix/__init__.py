"""genzoo-pix2pix: paired image-to-image translation (Isola et al. 2017) as a genzoo plugin.

Importing this package is cheap; the Keras model lives in :mod:`genzoo_pix2pix.model`.
"""

__version__ = "1.5.0"
