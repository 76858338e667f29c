"""The structural contracts of genzoo, as runtime-checkable protocols.

Components (``Generator``, ``Discriminator``, ``Encoder``, ``Decoder``) are the
Keras models a generative model is made of. ``ModelContract`` is the contract
every plugin model satisfies; the ``Translator``, ``LikelihoodModel`` and
``Autoencoder`` protocols are the optional capabilities a spec may declare.

These protocols import nothing heavy; they are checked with ``isinstance``, which
looks at attribute names only (signatures are documented, not enforced).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # numpy is only needed for the annotations; keep listing light
    import numpy as np


@runtime_checkable
class Generator(Protocol):
    """Maps a latent batch (and optionally a condition) to images.

    A Keras model called as ``generator(z, training=False)``; ``input_shape`` is
    that of its (first) input.
    """

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """Return a batch of images for a batch of inputs."""

    @property
    def input_shape(self) -> Any:
        """The input shape, batch dimension included (``None``)."""


@runtime_checkable
class Discriminator(Protocol):
    """Maps images (and optionally a condition) to real/fake logits or critic scores."""

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """Return one logit or score per image (or per patch, for PatchGAN)."""

    @property
    def input_shape(self) -> Any:
        """The input shape, batch dimension included (``None``)."""


@runtime_checkable
class Encoder(Protocol):
    """Maps images to latent codes or distribution parameters (VAE, RBM hidden units)."""

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """Return the code (or its parameters) for a batch of images."""

    @property
    def input_shape(self) -> Any:
        """The input shape, batch dimension included (``None``)."""


@runtime_checkable
class Decoder(Protocol):
    """Maps latent codes to images or to the parameters of an image distribution."""

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """Return images (or likelihood parameters) for a batch of codes."""

    @property
    def input_shape(self) -> Any:
        """The input shape, batch dimension included (``None``)."""


@runtime_checkable
class ModelContract(Protocol):
    """The contract every genzoo model satisfies, whatever its family.

    - ``sample(n, *, condition=None, seed=None)`` returns ``n`` images as a
      float32 numpy array, NHWC, values in [0, 1]; the same seed gives the same
      images. ``condition`` is what the spec's data condition asks for (class
      labels, input images, captions) and may be ``None`` where the model has a
      sensible default.
    - ``components``: the named Keras models it is made of.
    - ``config``: a JSON-serialisable dict from which the model class rebuilds
      the same architecture.
    - ``capabilities``: what else it offers (see :class:`genzoo_core.Capability`).
    """

    def sample(
        self, n: int, *, condition: Any = None, seed: int | None = None
    ) -> np.ndarray:
        """Return ``n`` images, float32 NHWC in [0, 1]."""

    @property
    def components(self) -> Mapping[str, Any]:
        """Component name -> keras.Model."""

    @property
    def config(self) -> dict[str, Any]:
        """JSON-serialisable configuration that rebuilds the model."""

    @property
    def capabilities(self) -> frozenset[Any]:
        """The :class:`~genzoo_core.Capability` values the model declares."""


@runtime_checkable
class Translator(Protocol):
    """Image-to-image models (pix2pix, CycleGAN)."""

    def translate(self, x: Any, **kwargs: Any) -> np.ndarray:
        """Translate images in [0, 1] (NHWC) and return images in [0, 1]."""


@runtime_checkable
class LikelihoodModel(Protocol):
    """Models with an exact or bounded log-likelihood (PixelCNN, VAE, RBM)."""

    def log_prob(self, x: Any) -> np.ndarray:
        """Return log p(x) in nats, one value per image (a bound where stated)."""


@runtime_checkable
class Autoencoder(Protocol):
    """Models with an explicit latent space (VAE, RBM)."""

    def encode(self, x: Any) -> Any:
        """Map images to codes."""

    def decode(self, z: Any) -> np.ndarray:
        """Map codes to images in [0, 1]."""


@runtime_checkable
class FeatureExtractor(Protocol):
    """Maps images to features for FID/KID/precision-recall, and to class probabilities.

    ``extract(images)`` takes float32 NHWC images in [0, 1] and returns
    ``(features, probabilities)``: float arrays of shape (n, feature_dim) and
    (n, num_classes), the latter ``None`` when ``num_classes`` is 0.
    """

    name: str
    feature_dim: int
    num_classes: int

    def extract(self, images: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """Features and class probabilities for a batch of images."""
