"""What the conformance kit's checks share: their options and their helpers.

The helpers build, condition and inspect a model through the public API.
:class:`KitOptions` says how the checks build, condition and train one model;
:class:`CheckSkipped` is what a check raises when it does not apply. The helpers
(``_create``, ``_condition``, ``_check_images``, ...) are private to the kit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from genzoo_core.errors import GenzooError
from genzoo_core.spec import Capability, Condition

SAMPLE_COUNT = 3
TRAIN_BATCH = 8


class CheckSkipped(Exception):
    """Raised by a check that does not apply; the message says why."""


@dataclass
class KitOptions:
    """How the checks build, condition and train one model.

    Attributes:
        config: config overrides for every model the checks build (e.g. a
            smaller width, so that the checks run fast).
        conditions: ``n -> condition`` for ``sample``; by default ``None`` for
            unconditional models, ``arange(n) % num_classes`` for
            class-conditional ones, and random input images of the config's
            ``image_shape`` for image-to-image ones.
        train_data: returns the data for one real train step; by default random
            images of the sampled shape (with labels for class-conditional
            models; as pairs or two domains for image-to-image ones), and for
            any other condition the model's own ``example_data(n)``.
        registry: where names are looked up (default: the installed plugins).
        backends: the Keras backends whose inference
            :func:`~genzoo_core.testing.check_backend_inference` compares with
            TensorFlow's (``("jax",)``; ``()`` checks none, ``("jax", "torch")``
            both); one whose package is not installed is skipped.
        backend_inexact: the capabilities (``"sample"``, ``"translate"``,
            ``"log_prob"``, ``"encode"``, ``"decode"``, ``"reconstruct"``) whose
            results may differ between backends beyond float round-off, such as a
            sampler whose discrete draws flip when a probability differs in its
            last bit: they are compared by shape and range only.
    """

    config: Mapping[str, Any] = field(default_factory=dict)
    conditions: Callable[[int], Any] | None = None
    train_data: Callable[[], Any] | None = None
    registry: Any = None
    backends: tuple[str, ...] = ("jax",)
    backend_inexact: tuple[str, ...] = ()


# -- helpers ---------------------------------------------------------------------------


def _api() -> Any:
    import genzoo_core

    return genzoo_core


def _spec(name: str, options: KitOptions) -> Any:
    return _api().get_spec(name, registry=options.registry)


def _create(name: str, options: KitOptions, seed: int = 0) -> Any:
    import keras

    keras.utils.set_random_seed(seed)  # initial weights differ between seeds
    return _api().create(name, dict(options.config), registry=options.registry)


def _num_classes(model: Any) -> int:
    return int(model.config.get("num_classes", 2))


def _condition(model: Any, n: int, options: KitOptions) -> Any:
    if options.conditions is not None:
        return options.conditions(n)
    if model.spec.condition == Condition.CLASS_LABEL:
        return np.arange(n) % _num_classes(model)
    if model.spec.condition in TRANSLATION_CONDITIONS:
        return np.random.default_rng(0).random((n, *_image_shape(model)), dtype=np.float32)
    return None


TRANSLATION_CONDITIONS = (Condition.PAIRED_IMAGE, Condition.UNPAIRED_DOMAINS)


def _image_shape(model: Any) -> tuple[int, ...]:
    shape = model.config.get("image_shape")
    if not shape:
        raise AssertionError(
            f"'{model.spec.name}' is conditioned on {model.spec.condition.value} and has no "
            f"'image_shape' config key: pass conditions= (n -> input images) to the kit"
        )
    return tuple(int(d) for d in shape)


def _declared_shape(model: Any) -> tuple[int, ...] | None:
    """The (height, width, channels) the model declares for its samples, if any."""
    shape = getattr(model, "sample_shape", None)
    if shape is None:
        shape = model.config.get("image_shape")
    return tuple(int(d) for d in shape) if shape else None


def _check_images(
    images: Any, n: int, what: str, shape: tuple[int, ...] | None = None
) -> np.ndarray:
    """What the model contract promises of returned images, as an AssertionError.

    The rules are those ``GenerativeModel.sample`` enforces at run time
    (:func:`genzoo_core.model.check_images`), applied here to any method and to
    models that do not derive from ``GenerativeModel``, and stricter: the array
    must already be float32 and inside [0, 1].
    """
    from genzoo_core.model import check_images

    if not isinstance(images, np.ndarray):
        raise AssertionError(f"{what} returned {type(images).__name__}, not a numpy array")
    if images.dtype != np.float32:
        raise AssertionError(f"{what} returned dtype {images.dtype}, expected float32")
    if shape is None and images.ndim == 4 and images.shape[-1] not in (1, 3, 4):
        raise AssertionError(
            f"{what} returned shape {images.shape}: the last axis must be the 1, 3 or 4 "
            f"channels (NHWC); this looks like NCHW"
        )
    try:
        check_images(images, n, what, shape)
    except GenzooError as error:
        raise AssertionError(str(error)) from None
    if images.min() < 0.0 or images.max() > 1.0:
        raise AssertionError(
            f"{what} returned values in [{images.min():.3f}, {images.max():.3f}], "
            f"outside [0, 1]"
        )
    return images


def _variables(model: Any) -> dict[str, np.ndarray]:
    from genzoo_core.backend import variable_value

    return {
        f"{name}/{variable.path}": variable_value(variable)
        for name, component in model.components.items()
        for variable in component.weights
    }


def _expect_error(call: Callable[[], Any], what: str) -> None:
    try:
        call()
    except GenzooError as error:
        if not str(error).strip():
            raise AssertionError(f"{what} raised {type(error).__name__} with no message") from None
        return
    except Exception as error:  # noqa: BLE001 - the kit reports what it got instead
        raise AssertionError(
            f"{what} raised {type(error).__name__}: {error}; expected a GenzooError "
            f"(or subclass, e.g. ConfigError) with a message saying what to do"
        ) from error
    raise AssertionError(f"{what} was accepted; expected a GenzooError")


# -- the checks ------------------------------------------------------------------------


def _absurd(rule: Any, default: Any) -> Any:
    """A value of ``rule``'s type far above its maximum (None when it has no maximum)."""
    if rule.max is None:
        return None
    big = int(rule.max) * 1000 + 1 if rule.kind in ("int", "ints") else rule.max * 1000 + 1
    if rule.kind in ("ints", "floats"):
        return [big] * max(len(default), 1)
    return big


def _default_train_data(model: Any, options: KitOptions) -> Any:
    from genzoo_core.data import DataSource, PairedDataSource, UnpairedDataSource

    n = TRAIN_BATCH * 2
    if Capability.SAMPLE in model.capabilities:
        shape = model.sample(1, condition=_condition(model, 1, options), seed=0).shape[1:]
    else:  # an auxiliary network draws nothing: the images it reads
        shape = _image_shape(model)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
    if model.spec.condition == Condition.PAIRED_IMAGE:
        inputs = rng.integers(0, 256, (n, *_image_shape(model)), dtype=np.uint8)
        return PairedDataSource("conformance kit pairs", inputs, images)
    if model.spec.condition == Condition.UNPAIRED_DOMAINS:
        other = rng.integers(0, 256, (n, *_image_shape(model)), dtype=np.uint8)
        return UnpairedDataSource("conformance kit domains", other, images)
    if model.spec.condition == Condition.UNCONDITIONAL:
        return DataSource("conformance kit images", images)
    if model.spec.condition == Condition.CLASS_LABEL:
        classes = _num_classes(model)
        return DataSource("conformance kit images", images, np.arange(n) % classes, classes)
    try:  # the model knows what its condition looks like (e.g. captions)
        return model.example_data(n)
    except NotImplementedError as error:  # GenerativeModel's default says what to do
        raise AssertionError(str(error)) from None
    except AttributeError as error:  # a contract model that is no GenerativeModel
        if "example_data" not in str(error):
            raise
        raise AssertionError(
            f"'{model.spec.name}' is conditioned on {model.spec.condition.value}: give the "
            f"model an example_data(n) method, or pass train_data= (a function returning its "
            f"training data) to the kit"
        ) from None


def _valid_option(rule: Any) -> tuple[bool, Any]:
    """A value a sampling option's schema field accepts: (found, value).

    The smallest allowed number (the cheapest ``steps``), the first choice,
    ``False``; ``(False, None)`` for a field that no value is known to suit
    (a free string or list, which only the model knows).
    """
    kind = rule.kind
    if kind == "choice" and rule.choices:
        return True, rule.choices[0]
    if kind == "bool":
        return True, False
    if kind == "int":
        low = None if rule.min is None else int(np.ceil(rule.min))
        if low is not None and not rule.min_inclusive and low == rule.min:
            low += 1
        value = low if low is not None else (int(rule.max) if rule.max is not None else 1)
        return True, value
    if kind == "float":
        if rule.min is None:
            return True, float(rule.max) if rule.max is not None else 0.0
        if rule.min_inclusive:
            return True, float(rule.min)
        top = float(rule.max) if rule.max is not None else float(rule.min) + 2.0
        return True, (float(rule.min) + top) / 2
    return False, None


def _cheap_options(spec: Any) -> dict[str, Any]:
    """The fewest ``steps`` an iterative sampler allows, so the kit's draws stay cheap."""
    rule = spec.sample_options.get("steps")
    if rule is None or rule.kind != "int":
        return {}
    found, value = _valid_option(rule)
    return {"steps": value} if found else {}


def _resolvable(spec: Any, entry: Any) -> None:
    from genzoo_core import hub

    if entry.file is None and hub.offline() and not hub.cache_path(spec, entry).is_file():
        raise CheckSkipped(
            f"{spec.name}/{entry.name} is hosted at a URL, is not cached, and GENZOO_OFFLINE "
            f"is set"
        )
