"""The structural contracts of genzoo, as runtime-checkable protocols.

Components (``Generator``, ``Discriminator``, ``Encoder``, ``Decoder``) are the
Keras models a generative model is made of; a spec says which component plays
which part (``ModelSpec.roles``) and :func:`role_problem` checks that it does,
from the component's symbolic input and output shapes. ``ModelContract`` is the
contract every plugin model satisfies; the ``Translator``, ``LikelihoodModel``
and ``Autoencoder`` protocols are the optional capabilities a spec may declare.

These protocols import nothing heavy; they are checked with ``isinstance``, which
looks at attribute names only (signatures are documented, not enforced). The
four component protocols have the same members, so ``isinstance`` cannot tell
them apart: their meaning is the shape rule :func:`role_problem` checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # numpy is only needed for the annotations; keep listing light
    import numpy as np

@runtime_checkable
class Generator(Protocol):
    """Maps a latent batch and the condition to images.

    Inputs: whatever the model draws from and is conditioned on (a latent
    ``(batch, latent_dim)``, class labels, input images, text embeddings).
    Checked: its first output is an image batch ``(batch, height, width,
    channels)`` with the model's image channels, a height and width that divide
    the model's image size where known (earlier stages of a multi-stage model
    make smaller images); a generator may return more outputs after the images.
    """

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """Return a batch of images for a batch of latents (and conditions)."""

    @property
    def input_shape(self) -> Any:
        """The input shape, batch dimension included (``None``)."""


@runtime_checkable
class Discriminator(Protocol):
    """Maps images and the condition to real/fake logits or critic scores.

    Checked: its first input is an image batch (as for :class:`Generator`);
    its first output is one score per image ``(batch, 1)`` or per patch
    ``(batch, rows, columns, 1)`` (PatchGAN). More inputs carry the condition.
    """

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """Return one logit or score per image (or per patch, for PatchGAN)."""

    @property
    def input_shape(self) -> Any:
        """The input shape, batch dimension included (``None``)."""


@runtime_checkable
class Encoder(Protocol):
    """Maps images to the parameters of a latent distribution (a VAE's mean and log-variance).

    Checked: its first input is an image batch (as for :class:`Generator`); its
    first output is a flat batch of parameters ``(batch, size)``.
    """

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """Return the latent distribution's parameters for a batch of images."""

    @property
    def input_shape(self) -> Any:
        """The input shape, batch dimension included (``None``)."""


@runtime_checkable
class Decoder(Protocol):
    """Maps latents to the parameters of an image distribution (logits, means, mixtures).

    Checked: its first input is a flat batch of latents ``(batch, latent_dim)``;
    its first output is laid out like the images, ``(batch, height, width,
    channels)`` with the model's image size where known, optionally with
    trailing axes of parameters per pixel ``(batch, height, width, channels, k)``.
    """

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """Return the image distribution's parameters for a batch of latents."""

    @property
    def input_shape(self) -> Any:
        """The input shape, batch dimension included (``None``)."""


COMPONENT_PROTOCOLS: Mapping[str, type] = {
    "generator": Generator,
    "discriminator": Discriminator,
    "encoder": Encoder,
    "decoder": Decoder,
}
"""Role name (the values of ``ModelSpec.roles``) -> the protocol of that part."""


def _shapes(component: Any, attr: str) -> list[tuple[Any, ...]] | str:
    """The symbolic shapes of a component's ``inputs`` or ``outputs``, or why there are none."""
    try:
        tensors = getattr(component, attr)
    except (AttributeError, ValueError) as exc:  # a subclassed model has no symbolic graph
        return f"it has no symbolic {attr} ({type(exc).__name__}: {exc})"
    if tensors is None:
        return f"it has no symbolic {attr}"
    if not isinstance(tensors, Sequence):
        tensors = [tensors]
    shapes = []
    for tensor in tensors:
        shape = getattr(tensor, "shape", None)
        if shape is None:
            return f"one of its {attr} has no shape"
        shapes.append(tuple(None if d is None else int(d) for d in shape))
    if not shapes:
        return f"it has no {attr}"
    return shapes


def _image_problem(shape: tuple[Any, ...], image_shape: Sequence[int] | None, what: str,
                   *, exact: bool = False, extra_axes: bool = False) -> str | None:
    """Why ``shape`` is not a batch of images of ``image_shape``, or None."""
    ranks = (4, 5) if extra_axes else (4,)
    if len(shape) not in ranks:
        return f"{what} has shape {shape}; expected (batch, height, width, channels)"
    if image_shape is None:
        return None
    height, width, channels = (int(d) for d in image_shape)
    if shape[3] is not None and shape[3] != channels:
        return f"{what} has {shape[3]} channels, the model's images {channels}"
    for size, full, axis in ((shape[1], height, "height"), (shape[2], width, "width")):
        if size is None or full == 0:
            continue
        if (size != full) if exact else (size < 1 or full % size):
            rule = "equal to" if exact else "that divides"
            return f"{what} has {axis} {size}; expected one {rule} the model's {full}"
    return None


def role_problem(component: Any, role: str,
                 image_shape: Sequence[int] | None = None) -> str | None:
    """Why ``component`` does not play ``role``, or None when it does.

    ``role`` is ``"generator"``, ``"discriminator"``, ``"encoder"`` or
    ``"decoder"`` (see :data:`COMPONENT_PROTOCOLS` for each rule);
    ``image_shape`` is the model's ``(height, width, channels)``, or ``None`` to
    check the ranks alone. The component is a Keras model with symbolic
    ``inputs`` and ``outputs`` (a functional model, or one built on an input).
    """
    protocol = COMPONENT_PROTOCOLS.get(str(getattr(role, "value", role)))
    if protocol is None:
        return f"{role!r} is not a role; roles are {', '.join(COMPONENT_PROTOCOLS)}"
    if not isinstance(component, protocol):
        return f"it is not a {protocol.__name__} (a callable Keras model with an input_shape)"
    inputs, outputs = _shapes(component, "inputs"), _shapes(component, "outputs")
    if isinstance(inputs, str):
        return inputs
    if isinstance(outputs, str):
        return outputs
    first_in, first_out = inputs[0], outputs[0]
    if protocol is Generator:
        return _image_problem(first_out, image_shape, "its first output")
    if protocol is Discriminator:
        problem = _image_problem(first_in, image_shape, "its first input")
        if problem:
            return problem
        if len(first_out) not in (2, 4) or first_out[-1] != 1:
            return (f"its first output has shape {first_out}; expected one score per image "
                    f"(batch, 1) or per patch (batch, rows, columns, 1)")
        return None
    if protocol is Encoder:
        problem = _image_problem(first_in, image_shape, "its first input")
        if problem:
            return problem
        if len(first_out) != 2:
            return (f"its first output has shape {first_out}; expected the latent "
                    f"distribution's parameters, (batch, size)")
        return None
    if len(first_in) != 2:
        return f"its first input has shape {first_in}; expected latents, (batch, latent_dim)"
    return _image_problem(first_out, image_shape, "its first output", exact=True,
                          extra_axes=True)


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
