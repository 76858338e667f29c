"""genzoo-ddpm: denoising diffusion (Ho et al. 2020) as a genzoo plugin.

Importing this package is cheap; the Keras model lives in :mod:`genzoo_ddpm.model`.
"""

__version__ = "1.5.0"
