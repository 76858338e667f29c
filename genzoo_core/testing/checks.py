"""The checks of the conformance kit, one function per part of the model contract.

Each check takes a registered model name and :class:`KitOptions`, builds the
model through the public API (``genzoo_core.create`` / ``load``), and raises
``AssertionError`` saying what broke, or :class:`CheckSkipped` saying why it does
not apply. :data:`CHECKS` lists them in the order they run; the runner in
:mod:`genzoo_core.testing.kit` runs them.

Image-to-image models (paired images, unpaired domains) are fed random input
images of their config's ``image_shape``. Models conditioned on anything else
(captions, ...) sample with ``condition=None`` from a documented default and
offer ``example_data(n)``, or the caller passes ``conditions`` and
``train_data`` through :class:`KitOptions`.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from genzoo_core.errors import GenzooError
from genzoo_core.spec import NAME_PATTERN, Capability, Condition
from genzoo_core.testing.support import (  # noqa: F401 - re-exported for the kit
    SAMPLE_COUNT,
    TRAIN_BATCH,
    TRANSLATION_CONDITIONS,
    CheckSkipped,
    KitOptions,
    _absurd,
    _api,
    _cheap_options,
    _check_images,
    _condition,
    _create,
    _declared_shape,
    _default_train_data,
    _expect_error,
    _image_shape,
    _num_classes,
    _resolvable,
    _spec,
    _valid_option,
    _variables,
)

__all__ = [
    "CHECKS",
    "CheckSkipped",
    "KitOptions",
    "check_backend_inference",
    "check_capabilities",
    "check_component_use",
    "check_config_roundtrip",
    "check_config_schema",
    "check_load_by_name",
    "check_pretrained_weights",
    "check_roles",
    "check_sample",
    "check_sampling_options",
    "check_spec",
    "check_train_step",
    "check_weights_roundtrip",
]

OPTIONS_COUNT = 2
"""Images drawn per call by the checks of sampling options and component use."""


def check_spec(name: str, options: KitOptions | None = None) -> None:
    """The spec is valid and matches the class it builds.

    Name syntax, a ``builder`` import string, at least one component, ``sample``
    among the capabilities, a known data condition, a JSON-serialisable default
    config, and a model whose ``spec``, ``components`` and ``capabilities``
    agree with it; each component is a callable Keras model.
    """
    options = options or KitOptions()
    spec = _spec(name, options)
    spec.validate()
    if not NAME_PATTERN.match(spec.name):
        raise AssertionError(f"model name {spec.name!r} does not match {NAME_PATTERN.pattern}")
    if not isinstance(spec.condition, Condition):
        raise AssertionError(f"condition {spec.condition!r} is not a genzoo_core.Condition")
    for entry in spec.weights:
        if not re.fullmatch(NAME_PATTERN.pattern, entry.name):
            raise AssertionError(f"weights name {entry.name!r} is not a valid name")
    model = _create(name, options)
    if model.spec.name != spec.name:
        raise AssertionError(f"the class builds '{model.spec.name}', the spec says '{spec.name}'")
    if tuple(model.components) != tuple(spec.components):
        raise AssertionError(
            f"components {list(model.components)} differ from the spec's {list(spec.components)}"
        )
    if frozenset(model.capabilities) != spec.capabilities:
        raise AssertionError("the model's capabilities differ from those its spec declares")
    for component_name, component in model.components.items():
        if not callable(component) or not hasattr(component, "weights"):
            raise AssertionError(f"component '{component_name}' is not a Keras model")


def check_roles(name: str, options: KitOptions | None = None) -> None:
    """Each component the spec gives a role (``ModelSpec.roles``) plays it.

    A generator makes images, a discriminator scores images, an encoder maps
    images to latent distribution parameters and a decoder maps latents to
    image distribution parameters, judged from the component's symbolic input
    and output shapes against the model's image shape (its ``sample_shape``);
    :func:`genzoo_core.protocols.role_problem` has the rules. A spec that
    declares no roles has nothing to check.
    """
    from genzoo_core.protocols import role_problem

    options = options or KitOptions()
    spec = _spec(name, options)
    if not spec.roles:
        return
    model = _create(name, options)
    image_shape = _declared_shape(model)
    problems = []
    for component, role in spec.roles.items():
        problem = role_problem(model.components[component], role, image_shape)
        if problem:
            problems.append(f"component '{component}' does not play its role "
                            f"'{role.value}': {problem}")
    if problems:
        raise AssertionError("; ".join(problems))


def check_sample(name: str, options: KitOptions | None = None) -> None:
    """``sample`` returns float32 NHWC images in [0, 1] and is deterministic under a seed.

    The images have the shape the model declares (its ``sample_shape``, by
    default the config's ``image_shape``); values outside [0, 1] beyond float
    rounding fail (``sample`` refuses them rather than clipping silently).

    The same seed gives the same images and another seed others (except for
    image-to-image models, which may translate deterministically); a
    non-positive count is a clear error. An auxiliary network (one that draws
    no images) refuses ``sample`` with a clear error instead.
    """
    options = options or KitOptions()
    model = _create(name, options)
    if Capability.SAMPLE not in model.capabilities:
        # An auxiliary network (spec.auxiliary) draws no images: it must say so, clearly.
        _expect_error(lambda: model.sample(2, seed=0), "sample of an auxiliary network")
        return
    n = SAMPLE_COUNT
    condition = _condition(model, n, options)
    images = _check_images(
        model.sample(n, condition=condition, seed=0), n, "sample", _declared_shape(model)
    )
    again = model.sample(n, condition=condition, seed=0)
    if not np.array_equal(images, again):
        raise AssertionError("sample with the same seed gave different images")
    # A translation may be deterministic (CycleGAN): only generators must vary with the seed.
    if model.spec.condition not in TRANSLATION_CONDITIONS:
        other = model.sample(n, condition=condition, seed=1)
        if np.array_equal(images, other):
            raise AssertionError("sample with seeds 0 and 1 gave identical images")
    _expect_error(lambda: model.sample(0, condition=condition, seed=0), "sample(0)")


def check_sampling_options(name: str, options: KitOptions | None = None) -> None:
    """Each declared sampling option works, and an undeclared one is refused.

    For a model whose spec declares ``sample_options``: ``sample`` with each
    option set to a value its schema field allows (the smallest number, the
    first choice) returns valid images, the same ones twice for one seed; a
    value far over a field's maximum, and an option the spec does not declare,
    are clear errors. A model that declares none has nothing to check.
    """
    options = options or KitOptions()
    spec = _spec(name, options)
    if not spec.sample_options or Capability.SAMPLE not in spec.capabilities:
        return
    model = _create(name, options)
    n = OPTIONS_COUNT
    condition = _condition(model, n, options)
    cheap = _cheap_options(spec)
    shape = _declared_shape(model)
    for option, rule in spec.sample_options.items():
        found, value = _valid_option(rule)
        if not found:
            continue  # a free string or list: only the model knows a valid value
        chosen = {**cheap, option: value}
        what = f"sample({n}, {', '.join(f'{k}={v!r}' for k, v in chosen.items())})"
        try:
            drawn = model.sample(n, condition=condition, seed=0, **chosen)
        except Exception as error:  # noqa: BLE001 - reported as the contract it breaks
            raise AssertionError(
                f"{what} raised {type(error).__name__}: {error}; a declared option must be "
                f"accepted (generate takes the options it declares as keyword arguments)"
            ) from error
        images = _check_images(drawn, n, what, shape)
        again = model.sample(n, condition=condition, seed=0, **chosen)
        if not np.array_equal(images, again):
            raise AssertionError(f"sample with {option}={value!r} and the same seed gave "
                                 f"different images")
        absurd = _absurd(rule, value) if rule.kind in ("int", "float") else None
        if absurd is not None:
            _expect_error(lambda o=option, a=absurd: model.sample(
                n, condition=condition, seed=0, **{**cheap, o: a}),
                f"sample with {option}={absurd!r}, far over its maximum")
    undeclared = next(f"kit_option_{i}" for i in range(100)
                      if f"kit_option_{i}" not in spec.sample_options)
    _expect_error(lambda: model.sample(n, condition=condition, seed=0, **cheap,
                                       **{undeclared: 1}),
                  f"sample with the undeclared option {undeclared}=1")


def check_config_schema(name: str, options: KitOptions | None = None) -> None:
    """Every config key has a rule, and a value that breaks it is refused before building.

    Integer keys (and lists of integers) decide how much memory a model takes,
    so each needs a declared ``config_schema`` field with a maximum (or a
    ``Choice``). ``create`` with a value a thousand times over a maximum, or of
    the wrong type, must raise a :class:`~genzoo_core.ConfigError` naming the key.
    """
    from genzoo_core.plugin import schema

    options = options or KitOptions()
    spec = _spec(name, options)
    rules = schema.fields_for(spec.default_config, spec.config_schema)
    unbounded = sorted(
        key for key, rule in rules.items() if rule.kind in ("int", "ints") and rule.max is None
    )
    if unbounded:
        raise AssertionError(
            f"integer config key(s) {', '.join(unbounded)} have no declared maximum: declare "
            f"them in config_schema (e.g. schema.Int(min=1, max=1024)), so that a config "
            f"from a file or --config cannot ask for unbounded memory"
        )
    for key, rule in rules.items():
        default = spec.default_config[key]
        wrong_type = 1.5 if rule.kind in ("str", "strs", "choice", "bool") else "not a number"
        candidates = [("of the wrong type", wrong_type)]
        absurd = _absurd(rule, default)
        if absurd is not None:
            candidates.append(("far over its maximum", absurd))
        if rule.kind == "any":
            continue
        for why, value in candidates:
            try:
                _api().create(name, {**options.config, key: value}, registry=options.registry)
            except GenzooError as error:
                if f"'{key}" not in str(error):
                    raise AssertionError(
                        f"config key '{key}' {why} ({value!r:.40}) raised an error that does "
                        f"not name the key: {error}"
                    ) from None
                continue
            raise AssertionError(f"config key '{key}' {why} ({value!r:.40}) was accepted")


def check_config_roundtrip(name: str, options: KitOptions | None = None) -> None:
    """``config`` is JSON, rebuilds the same architecture, and is a copy."""
    options = options or KitOptions()
    model = _create(name, options)
    config = model.config
    try:
        text = json.dumps(config)
    except TypeError as error:
        raise AssertionError(f"config is not JSON-serialisable: {error}") from None
    rebuilt = _api().create(name, json.loads(text), registry=options.registry)
    if rebuilt.config != config:
        raise AssertionError("a model built from config has another config")
    shapes = {k: v.shape for k, v in _variables(model).items()}
    rebuilt_shapes = {k: v.shape for k, v in _variables(rebuilt).items()}
    if shapes != rebuilt_shapes:
        raise AssertionError("a model built from its config has different variables")
    config["__kit_probe__"] = 1
    if "__kit_probe__" in model.config:
        raise AssertionError("config returned the live dict, not a copy")


def check_weights_roundtrip(name: str, options: KitOptions | None = None) -> None:
    """Weights saved to HDF5 load into a freshly built model and give the same samples."""
    options = options or KitOptions()
    api = _api()
    model = _create(name, options, seed=0)
    draws = Capability.SAMPLE in model.capabilities
    condition = _condition(model, SAMPLE_COUNT, options) if draws else None
    expected = model.sample(SAMPLE_COUNT, condition=condition, seed=0) if draws else None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "weights.h5"
        api.save_weights(model, path, metadata={"dataset": "conformance kit"})
        header = api.read_header(path)
        if header.model != model.spec.name or header.config != model.config:
            raise AssertionError("the weights header does not record the model name and config")
        other = _create(name, options, seed=1)
        api.load_weights(other, path)
        saved, loaded = _variables(model), _variables(other)
        if saved.keys() != loaded.keys():
            raise AssertionError("the reloaded model has other variables")
        differing = [k for k in saved if not np.array_equal(saved[k], loaded[k])]
        if differing:
            raise AssertionError(f"variables differ after reloading: {differing[:5]}")
    if not draws:
        return
    actual = other.sample(SAMPLE_COUNT, condition=condition, seed=0)
    if not np.allclose(expected, actual, atol=1e-6):
        raise AssertionError("the reloaded model samples other images for the same seed")


def check_component_use(name: str, options: KitOptions | None = None) -> None:
    """The components ``component_use`` names exist, and a file without the training ones works.

    Every component the spec marks is one of the model's Keras components. A
    model with training-only components is saved with them left out (as
    ``genzoo publish`` saves it): the file records each component's use and
    names those left out, loads by path (``restore_components`` filling them
    in), and the loaded model samples the same images for the same seed. A
    spec that marks nothing has nothing to check.
    """
    options = options or KitOptions()
    spec = _spec(name, options)
    if not spec.component_use:
        return
    api = _api()
    model = _create(name, options, seed=0)
    components = model.components
    for component in spec.component_use:
        if component not in components or not hasattr(components[component], "weights"):
            raise AssertionError(f"component_use names '{component}', which the model has "
                                 f"not as a Keras component")
    left_out = tuple(c for c in spec.components if spec.component_use.get(c) == "training")
    if not left_out:
        return
    draws = Capability.SAMPLE in model.capabilities
    n = OPTIONS_COUNT
    cheap = _cheap_options(spec)
    condition = _condition(model, n, options) if draws else None
    expected = model.sample(n, condition=condition, seed=0, **cheap) if draws else None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "inference.h5"
        model.save_weights(str(path), leave_out_training=True)
        header = api.read_header(path)
        if set(header.components) & set(left_out) or tuple(header.left_out) != left_out:
            raise AssertionError(f"a file saved with leave_out_training=True holds "
                                 f"{list(header.components)} and names {list(header.left_out)} "
                                 f"as left out; expected {list(left_out)} left out")
        for component in header.components:
            use = spec.component_use.get(component, "both")
            if header.component_use.get(component) != use:
                raise AssertionError(f"the file records component '{component}' as "
                                     f"{header.component_use.get(component)!r}, not {use!r}")
        loaded = api.load(str(path), registry=options.registry)
    if not draws:
        return
    actual = loaded.sample(n, condition=condition, seed=0, **cheap)
    if not np.allclose(expected, actual, atol=1e-6):
        raise AssertionError("a model loaded from a file without its training-only components "
                             "samples other images for the same seed")


def check_train_step(name: str, options: KitOptions | None = None) -> None:
    """One real train step through the core ``Trainer`` runs and changes the weights.

    The losses it logs are finite, every weight stays finite, and at least one
    trainable weight moves.
    """
    from genzoo_core.backend import variable_value

    options = options or KitOptions()
    api = _api()
    model = _create(name, options)
    data = options.train_data() if options.train_data else _default_train_data(model, options)
    before = {
        f"{c}/{v.path}": variable_value(v)
        for c, component in model.components.items()
        for v in component.trainable_weights
    }
    with tempfile.TemporaryDirectory() as folder:
        trainer = api.Trainer(model, folder, batch_size=TRAIN_BATCH, preview_count=0,
                              verbose=0)
        history = trainer.fit(data, epochs=1, steps_per_epoch=1)
    logs = {k: v for k, v in history.history.items() if k != "seconds"}
    if not logs:
        raise AssertionError("train_step returned no losses to log")
    bad = {k: v for k, v in logs.items() if not np.all(np.isfinite(v))}
    if bad:
        raise AssertionError(f"train_step logged non-finite values: {bad}")
    after = {
        f"{c}/{v.path}": variable_value(v)
        for c, component in model.components.items()
        for v in component.trainable_weights
    }
    if not all(np.all(np.isfinite(value)) for value in after.values()):
        raise AssertionError("a train step made weights non-finite")
    if all(np.array_equal(before[k], after[k]) for k in before):
        raise AssertionError("one train step changed no trainable weight")


def check_capabilities(name: str, options: KitOptions | None = None) -> None:
    """Every declared capability works, and conditions are checked.

    ``translate`` maps images to images in [0, 1]; ``log_prob`` gives one finite
    value per image; ``encode``/``decode``/``reconstruct`` round-trip shapes.
    A class-conditional model refuses an out-of-range class and a wrongly
    shaped label array; an unconditional model refuses any condition.
    """
    from genzoo_core.protocols import Autoencoder, LikelihoodModel, Translator

    options = options or KitOptions()
    model = _create(name, options)
    capabilities = frozenset(model.capabilities)
    n = 2
    draws = Capability.SAMPLE in capabilities
    condition = _condition(model, n, options) if draws else None
    if draws:
        images = model.sample(n, condition=condition, seed=0)
    else:  # an auxiliary network: its capabilities are tried on random images
        shape = _declared_shape(model) or (8, 8, 1)
        images = np.random.default_rng(0).uniform(size=(n, *shape)).astype(np.float32)
    if Capability.TRANSLATE in capabilities:
        if not isinstance(model, Translator):
            raise AssertionError("declares 'translate' but has no translate(x) method")
        source = condition if isinstance(condition, np.ndarray) and condition.ndim == 4 else images
        _check_images(model.translate(source), len(source), "translate",
                      _declared_shape(model))
    if Capability.LOG_PROB in capabilities:
        if not isinstance(model, LikelihoodModel):
            raise AssertionError("declares 'log_prob' but has no log_prob(x) method")
        values = np.asarray(model.log_prob(images))
        if values.shape != (n,) or not np.all(np.isfinite(values)):
            raise AssertionError(f"log_prob returned {values!r}; expected {n} finite values")
    if Capability.ENCODE in capabilities or Capability.DECODE in capabilities:
        if not isinstance(model, Autoencoder):
            raise AssertionError("declares 'encode'/'decode' but lacks encode(x) or decode(z)")
        _check_images(model.decode(model.encode(images)), n, "decode(encode(x))")
    if Capability.RECONSTRUCT in capabilities:
        method = getattr(model, "reconstruct", None)
        if not callable(method):
            raise AssertionError("declares 'reconstruct' but has no reconstruct(x) method")
        _check_images(method(images), n, "reconstruct")
    if not draws:
        return
    if model.spec.condition == Condition.CLASS_LABEL:
        classes = _num_classes(model)
        _expect_error(lambda: model.sample(2, condition=np.array([0, classes]), seed=0),
                      f"sample with class {classes} of {classes} classes")
        _expect_error(lambda: model.sample(2, condition=np.zeros((2, 2), int), seed=0),
                      "sample with labels of shape (2, 2)")
    elif model.spec.condition == Condition.UNCONDITIONAL:
        _expect_error(lambda: model.sample(2, condition=np.arange(2), seed=0),
                      "an unconditional model sampled with a condition")




def check_pretrained_weights(name: str, options: KitOptions | None = None) -> None:
    """Every pretrained entry resolves to a file whose sha256 verifies.

    An entry downloaded from a URL must record the file's ``size``.

    The file's header names this model and a config the model accepts.
    """
    from genzoo_core import hub

    options = options or KitOptions()
    spec = _spec(name, options)
    if not spec.weights:
        raise CheckSkipped(f"'{name}' declares no pretrained weights")
    for entry in spec.weights:
        if entry.url is not None and entry.size is None:
            raise AssertionError(
                f"{name}/{entry.name} is downloaded from a URL but records no size=: give the "
                f"file's size in bytes, so that a download is cut off at exactly that length"
            )
        _resolvable(spec, entry)
        path = hub.resolve(spec, entry, progress=False)  # raises WeightsError on a bad hash
        header = _api().read_header(path)
        if header.model != spec.name:
            raise AssertionError(f"{name}/{entry.name} holds weights of '{header.model}'")
        spec.resolve_config(header.config)


def check_load_by_name(name: str, options: KitOptions | None = None) -> None:
    """``genzoo_core.load`` builds the model by name and loads each pretrained entry.

    Without pretrained weights: a file saved from ``create(name)`` loads by path.
    """
    options = options or KitOptions()
    api = _api()
    spec = _spec(name, options)
    if spec.weights:
        for entry in spec.weights:
            _resolvable(spec, entry)
            model = api.load(f"{name}/{entry.name}", registry=options.registry)
            if Capability.SAMPLE not in model.capabilities:
                continue
            condition = _condition(model, SAMPLE_COUNT, options)
            _check_images(model.sample(SAMPLE_COUNT, condition=condition, seed=0),
                          SAMPLE_COUNT, f"load('{name}/{entry.name}').sample")
        return
    model = _create(name, options)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.h5"
        api.save_weights(model, path)
        loaded = api.load(str(path), registry=options.registry)
    if loaded.spec.name != name:
        raise AssertionError(f"load({str(path)!r}) built '{loaded.spec.name}'")


def check_backend_inference(name: str, options: KitOptions | None = None) -> None:
    """Inference on JAX gives TensorFlow's results, loading the same weights file.

    The model the kit builds is saved to a temporary ``.h5`` file; a subprocess
    started with ``KERAS_BACKEND=jax`` (each backend of ``KitOptions.backends``)
    loads it with ``genzoo_core.load``, samples with a fixed seed and calls every
    declared capability (``translate``, ``log_prob``, ``encode`` and ``decode``,
    ``reconstruct``) on the same inputs; the results must equal those of the
    same calls under TensorFlow here up to float round-off (images within
    ``1e-3``, a quarter of one 8-bit level; other values within ``1e-4``
    relative). Capabilities listed in
    ``KitOptions.backend_inexact`` (a sampler whose discrete draws may flip) are
    compared by shape and range only. Skipped when JAX is not installed, when
    the kit itself runs on another backend than TensorFlow, and for
    ``backends=()``. The subprocess costs about ten seconds of imports.
    """
    from genzoo_core.backend import keras_backend
    from genzoo_core.testing.backends import (
        InferenceJob,
        backend_available,
        compare_outputs,
        inference_inputs,
        inference_outputs,
        run_on_backend,
    )

    options = options or KitOptions()
    if keras_backend() != "tensorflow":
        raise CheckSkipped(f"the kit runs on {keras_backend()!r}: other backends are compared "
                           f"with TensorFlow, so run it with KERAS_BACKEND=tensorflow")
    unknown = sorted(set(options.backend_inexact) - {c.value for c in Capability})
    if unknown:
        raise AssertionError(f"KitOptions.backend_inexact names {unknown}, which are not "
                             f"capabilities ({', '.join(c.value for c in Capability)})")
    if not options.backends:
        raise CheckSkipped("KitOptions.backends is empty: no other backend is checked")
    missing = {b: backend_available(b) for b in options.backends}
    backends = [b for b, why in missing.items() if why is None]
    if not backends:
        raise CheckSkipped("; ".join(why for why in missing.values() if why))
    api = _api()
    spec = _spec(name, options)
    model = _create(name, options, seed=0)
    n = OPTIONS_COUNT
    condition = _condition(model, n, options) if Capability.SAMPLE in model.capabilities else None
    text = None
    if condition is not None and not isinstance(condition, np.ndarray):
        if not (isinstance(condition, (list, tuple))
                and all(isinstance(c, str) for c in condition)):
            raise CheckSkipped(f"the condition ({type(condition).__name__}) cannot be handed to "
                               f"another process: only arrays and lists of captions can")
        text, condition = list(condition), None
    try:
        registry = _registry_for_subprocess(options.registry)
    except TypeError as error:
        raise CheckSkipped(str(error)) from None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.h5"
        api.save_weights(model, path, metadata={"dataset": "conformance kit"})
        loaded = api.load(str(path), registry=options.registry)
        inputs = inference_inputs(loaded, n, condition)
        np.savez(Path(folder) / "inputs.npz", **inputs)
        job = InferenceJob(id=name, weights=str(path), n=n, inputs=str(Path(folder) / "inputs.npz"),
                           text_condition=text, sample_options=_cheap_options(spec))
        waiting = {b: run_on_backend(b, [job], registry=registry, wait=False) for b in backends}
        reference, failed = inference_outputs(loaded, inputs, text_condition=text,
                                              sample_options=job.sample_options)
        results = {b: wait()[name] for b, wait in waiting.items()}
    if failed:
        raise AssertionError("on TensorFlow, " + "; ".join(f"{k} raised {v}"
                                                           for k, v in failed.items()))
    for backend, result in results.items():
        where = f"under KERAS_BACKEND={backend}"
        if result["errors"]:
            raise AssertionError(
                f"{where}, " + "; ".join(f"{k} raised {v}" for k, v in result["errors"].items())
                + ": inference must use keras.ops and numpy, not tf.* (wrap compiled "
                "functions in genzoo_core.plugin.inference_function, convert outputs with "
                "to_numpy)"
            )
        problems, _ = compare_outputs(reference, result["outputs"],
                                      inexact=options.backend_inexact)
        if problems:
            raise AssertionError(
                f"{where}, the same calls as on TensorFlow gave other results: "
                + "; ".join(problems) + ". Draw randomness from the numpy rng that generate "
                "gets; a sampler whose discrete draws may flip declares it with "
                "KitOptions(backend_inexact=('sample',))"
            )


def _registry_for_subprocess(registry: Any) -> Any:
    """``registry`` as the subprocess can rebuild it (a TypeError says why it cannot)."""
    from genzoo_core.testing.backends import _registry_description

    _registry_description(registry)
    return registry


CHECKS: tuple[Callable[..., None], ...] = (
    check_spec,
    check_roles,
    check_sample,
    check_sampling_options,
    check_config_roundtrip,
    check_config_schema,
    check_weights_roundtrip,
    check_component_use,
    check_train_step,
    check_capabilities,
    check_pretrained_weights,
    check_load_by_name,
    check_backend_inference,
)
"""Every check, in the order they run."""
