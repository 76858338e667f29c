"""A transparent test extractor: raw pixels as features, brightness as a 2-class head."""

import numpy as np

from genzoo_core.features import check_images


class PixelFeatures:
    name = "toy-pixels"
    feature_dim = 16
    num_classes = 2
    sha256 = "toy-pixels-v1"
    calls = 0

    def extract(self, images):
        images = check_images(images)
        if images.shape[1:] != (4, 4, 1):
            from genzoo_core import DataError

            raise DataError(f"toy-pixels takes 4x4x1 images, got {images.shape[1:]}")
        type(self).calls += 1
        features = images.reshape(len(images), -1).astype(np.float64)
        bright = features.mean(axis=1) >= 0.5
        probabilities = np.stack([~bright, bright], axis=1).astype(np.float64) * 0.98 + 0.01
        return features, probabilities


def build():
    return PixelFeatures()


def load_data(split):
    from genzoo_core.data import DataSource

    rng = np.random.default_rng(0 if split == "train" else 1)
    return DataSource(f"toy-data:{split}", rng.integers(0, 256, (300, 4, 4, 1), dtype=np.uint8))
