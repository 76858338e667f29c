"""A tiny GAN used by genzoo-core's own tests (4x4 images, small MLPs)."""
