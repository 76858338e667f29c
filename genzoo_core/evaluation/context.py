"""What a metric's scorer is given: :class:`EvaluationContext` and its :class:`ImageSet` s.

The context holds the model, the real data, the options and the dataset's scoring
networks, and produces (once, shared by every metric) the images a model makes
for the held-out data of its condition:

- unconditional and class-conditional models: ``n`` samples (labels ``i % classes``),
  streamed through the extractors in chunks; the real side is the first ``n``
  images of the compared split (cached in ``$GENZOO_HOME/stats``);
- paired image-to-image: the translations of the held-out inputs, beside their targets;
- unpaired image-to-image: both directions, ``_ab`` (A translated to B, against
  real B) and ``_ba`` (B to A, against real A);
- text-to-image: one image per held-out image, drawn for its caption
  ``i % captions`` (seed ``seed``), against the real held-out images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from genzoo_core.errors import ConfigError, DataError, GenzooError
from genzoo_core.evaluation.stats import CHUNK, extract_all, progress_bar, real_features
from genzoo_core.progress import sampling_progress
from genzoo_core.spec import Capability, Condition

__all__ = ["EvaluationContext", "ImageSet"]

TRANSLATE_CHUNK = 50  # held-out inputs translated (or captions drawn) at a time


@dataclass
class ImageSet:
    """Real images and what the model made for the same held-out data.

    Attributes:
        suffix: appended to each reported name (``""``; ``"_ab"``/``"_ba"`` for
            the two directions of unpaired translation).
        real: the real images the made ones are compared with (float32 in [0, 1]),
            or ``None`` when only their features are kept (samples of a
            distribution); then ``real_features`` holds them.
        generated: the made images, or ``None`` when streamed (samples).
        inputs: the translated inputs (image-to-image), else ``None``.
        targets: the aligned targets of ``inputs`` (paired data), else ``None``.
        labels: the class each sample was drawn for (class-conditional), else ``None``.
        reference: the held-out data slice the images were made for (text: its
            captions conditioned image ``i``), else ``None``.
        target_domain: 1 for images translated into domain B, 0 into A, else ``None``.
        outputs: extractor name -> (features, probabilities) of ``generated``.
        real_features: the features of ``real`` by the evaluation's extractor.
    """

    suffix: str = ""
    real: np.ndarray | None = None
    generated: np.ndarray | None = None
    inputs: np.ndarray | None = None
    targets: np.ndarray | None = None
    labels: np.ndarray | None = None
    reference: Any = None
    target_domain: int | None = None
    outputs: dict[str, tuple[np.ndarray, np.ndarray | None]] = field(default_factory=dict)
    real_features: np.ndarray | None = None


def _as_float(images: np.ndarray) -> np.ndarray:
    return np.asarray(images, np.float32) / 255.0


def fit_to(images: np.ndarray, extractor: Any) -> np.ndarray:
    """``images`` resized (bilinear, clipped to [0, 1]) to the extractor's input size."""
    shape = getattr(extractor, "image_shape", None)
    if shape is None or tuple(images.shape[1:3]) == tuple(shape[:2]):
        return images
    import tensorflow as tf

    resized = tf.image.resize(images, tuple(shape[:2]), method="bilinear", antialias=True)
    return np.clip(np.asarray(resized, np.float32), 0.0, 1.0)


class EvaluationContext:
    """The model, its real data and the shared work of one evaluation, for metric scorers.

    A scorer (``MetricSpec.scorer``) is called with this object and returns
    ``{name: float}``. It reads :meth:`image_sets` (computed once, shared by every
    metric), :meth:`features` and :meth:`classifier`, :meth:`real` for a split of
    the real data, and ``options`` (``kid_subsets``, ``is_splits``, ...). It may
    add to ``settings``: everything needed to reproduce its number.

    Attributes:
        model: the model being scored.
        data: the real data as given: a dataset name, a path or a data source.
        dataset: the registered :class:`~genzoo_core.plugin.DatasetSpec` of ``data``,
            or ``None`` for a path or a source.
        split: the held-out split (``"test"``).
        n: the number of samples (or held-out items) the metrics use.
        seed: the seed of sampling and of the metrics' random subsets.
        options: the metric options (``kid_subsets``, ``kid_subset_size``,
            ``is_splits``, ``pr_k``, and any a plugin's metric reads).
        settings: the report's settings; scorers add what they used.
        verbose: 1 shows progress bars with the time left.
        registry: where extractor and dataset names are looked up.
        sample_options: the checked sampling options every ``model.sample`` call gets.
    """

    def __init__(
        self,
        model: Any,
        data: Any,
        *,
        dataset: Any,
        split: str,
        n: int,
        seed: int,
        features: str,
        classifiers: dict[str, str],
        options: dict[str, Any],
        settings: dict[str, Any],
        verbose: int,
        registry: Any,
        compare_with: Any = None,
        needs: tuple[str, ...] = (),
        sample_options: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.data = data
        self.dataset = dataset
        self.split = split
        self.n = n
        self.seed = seed
        self.options = options
        self.settings = settings
        self.verbose = verbose
        self.registry = registry
        self.sample_options = dict(sample_options or {})
        self._features_name = features
        self._classifiers = dict(classifiers)
        self._compare_with = data if compare_with is None else compare_with
        self._needs = needs
        self._extractors: dict[str, Any] = {}
        self._sources: dict[str, Any] = {}
        self._sets: list[ImageSet] | None = None

    # -- the scoring networks ----------------------------------------------------------

    def _extractor(self, name: str) -> Any:
        if name not in self._extractors:
            from genzoo_core.features import get_feature_extractor

            self._extractors[name] = get_feature_extractor(name, registry=self.registry)
        return self._extractors[name]

    def features(self) -> Any:
        """The feature extractor of FID, KID, IS and precision/recall (built once)."""
        return self._extractor(self._features_name)

    @property
    def features_name(self) -> str:
        """The registered name of :meth:`features`."""
        return self._features_name

    def classifier_name(self, purpose: str) -> str:
        """The extractor the dataset names for ``purpose`` (``labels``, ``domain``, ...).

        Raises:
            ConfigError: the dataset names no classifier for it.
        """
        name = self._classifiers.get(purpose)
        if not name:
            where = f"dataset '{self.dataset.name}'" if self.dataset is not None else str(
                self.data)
            raise ConfigError(
                f"{where} names no '{purpose}' classifier (DatasetSpec.classifiers), so "
                f"the metrics that need one cannot score it; drop them from --metrics"
            )
        return name

    def classifier(self, purpose: str) -> Any:
        """The scoring classifier the dataset names for ``purpose``, built once."""
        return self._extractor(self.classifier_name(purpose))

    # -- the real data ---------------------------------------------------------------------

    def real(self, split: str | None = None) -> Any:
        """The data source of one split of the real data (default: the held-out split)."""
        split = split or self.split
        if split not in self._sources:
            from genzoo_core.data import is_data_source, load_data

            if is_data_source(self.data):
                if split != self.split:
                    raise ConfigError(f"the given data source is one split; {split!r} is "
                                      f"not available")
                self._sources[split] = self.data
            else:
                self._sources[split] = load_data(str(self.data), split, registry=self.registry)
        return self._sources[split]

    # -- what the model makes -----------------------------------------------------------

    def _extractor_names(self) -> list[str]:
        names = [self._features_name]
        for purpose in self._needs:
            name = self._classifiers.get(purpose)
            if name and name not in names:
                names.append(name)
        return names

    def image_sets(self) -> list[ImageSet]:
        """The model's images for the held-out data, with their extractor outputs (once)."""
        if self._sets is None:
            condition = self.model.spec.condition
            if condition in (Condition.UNCONDITIONAL, Condition.CLASS_LABEL):
                self._sets = [self._sampled(condition)]
            elif condition == Condition.PAIRED_IMAGE:
                self._sets = self._paired()
            elif condition == Condition.UNPAIRED_DOMAINS:
                self._sets = self._unpaired()
            elif condition == Condition.TEXT:
                self._sets = self._captioned()
            else:  # pragma: no cover - every Condition is handled above
                raise GenzooError(f"no image sets for condition {condition.value}")
            for image_set in self._sets:
                self._extract_set(image_set)
        return self._sets

    def _sampled(self, condition: Condition) -> ImageSet:
        extractor = self.features()
        real, described = real_features(self._compare_with, extractor, n=self.n,
                                        split=self.split, verbose=self.verbose,
                                        registry=self.registry)
        self.settings["real"] = described
        labels = None
        if condition == Condition.CLASS_LABEL:
            classes = int(self.model.config.get("num_classes", 0) or extractor.num_classes)
            labels = np.arange(self.n) % classes
        seeds = np.random.default_rng(self.seed).integers(
            0, 2**31 - 1, size=(self.n + CHUNK - 1) // CHUNK)

        def batches() -> Any:
            for index, start in enumerate(range(0, self.n, CHUNK)):
                size = min(CHUNK, self.n - start)
                condition = None if labels is None else labels[start : start + size]
                yield self.model.sample(size, condition=condition, seed=int(seeds[index]),
                                        **self.sample_options)

        image_set = ImageSet(labels=labels, real_features=real)
        names = self._extractor_names()
        # One bar over the samples: each sample call moves it, and an iterative sampler
        # moves it within its chunk as its steps finish (GenerativeModel.report_progress).
        with sampling_progress(self.n, "generated", self.verbose):
            if len(names) == 1:
                feats, probs, _ = extract_all(extractor, batches(), self.n, 0, "generated")
                image_set.outputs[names[0]] = (feats, probs)
                return image_set
            # Several extractors: each chunk goes through all of them, so nothing is kept.
            collected: dict[str, tuple[list, list]] = {name: ([], []) for name in names}
            for batch in batches():
                for name in names:
                    feats, probs = self._extractor(name).extract(
                        fit_to(np.asarray(batch, np.float32), self._extractor(name)))
                    collected[name][0].append(np.asarray(feats, np.float32))
                    if probs is not None:
                        collected[name][1].append(probs)
        for name, (feats, probs) in collected.items():
            image_set.outputs[name] = (np.concatenate(feats),
                                       np.concatenate(probs) if probs else None)
        return image_set

    def _held_out(self, size: int) -> Any:
        source = self.real()
        count = min(self.n, len(source))
        source = source.take(count) if count < len(source) else source
        self.settings["real"] = {"dataset": getattr(source, "name", str(self.data)),
                                 "split": self.split, "count": count,
                                 "image_size": size}
        return source.resized(size) if hasattr(source, "resized") else source

    def _translate(self, images: np.ndarray, label: str, **kwargs: Any) -> np.ndarray:
        bar = progress_bar(len(images), self.verbose, label)
        out = []
        for start in range(0, len(images), TRANSLATE_CHUNK):
            out.append(np.asarray(self.model.translate(
                images[start : start + TRANSLATE_CHUNK], **kwargs), np.float32))
            if bar is not None:
                bar.update(min(start + TRANSLATE_CHUNK, len(images)))
        return np.concatenate(out)

    def _model_size(self) -> int:
        shape = self.model.config.get("image_shape") or self.model.image_shape
        return int(shape[0])

    def _require(self, capability: Capability) -> None:
        if capability not in self.model.capabilities:
            raise GenzooError(f"'{self.model.spec.name}' has no {capability.value}: it "
                              f"cannot be scored on {self.model.spec.condition.value} data")

    def _paired(self) -> list[ImageSet]:
        self._require(Capability.TRANSLATE)
        source = self._held_out(self._model_size())
        inputs, targets = _as_float(source.inputs), _as_float(source.targets)
        generated = self._translate(inputs, "translated")
        return [ImageSet(real=targets, generated=generated, inputs=inputs, targets=targets)]

    def _unpaired(self) -> list[ImageSet]:
        self._require(Capability.TRANSLATE)
        source = self._held_out(self._model_size())
        real_a, real_b = _as_float(source.images_a), _as_float(source.images_b)
        self.settings["real"]["count"] = {"a": len(real_a), "b": len(real_b)}
        fake_b = self._translate(real_a, "translated A to B", direction="AtoB")
        fake_a = self._translate(real_b, "translated B to A", direction="BtoA")
        return [
            ImageSet("_ab", real=real_b, generated=fake_b, inputs=real_a, target_domain=1),
            ImageSet("_ba", real=real_a, generated=fake_a, inputs=real_b, target_domain=0),
        ]

    def _captioned(self) -> list[ImageSet]:
        source = self._held_out(self._model_size())
        captions = [c[i % len(c)] for i, c in enumerate(source.captions)]
        real = _as_float(source.images)
        seeds = np.random.default_rng(self.seed).integers(
            0, 2**31 - 1, size=(len(captions) + CHUNK - 1) // CHUNK)
        out = []
        with sampling_progress(len(captions), "generated for captions", self.verbose):
            for index, start in enumerate(range(0, len(captions), CHUNK)):
                chunk = captions[start : start + CHUNK]
                out.append(np.asarray(self.model.sample(
                    len(chunk), condition=chunk, seed=int(seeds[index]), **self.sample_options),
                    np.float32))
        self.settings["captions"] = "caption i % captions of held-out image i"
        return [ImageSet(real=real, generated=np.concatenate(out), reference=source)]

    def _extract_set(self, image_set: ImageSet) -> None:
        if image_set.generated is None:
            return
        for name in self._extractor_names():
            extractor = self._extractor(name)
            feats, probs = extractor.extract(fit_to(image_set.generated, extractor))
            image_set.outputs[name] = (np.asarray(feats, np.float32), probs)
        if image_set.real is not None and image_set.real_features is None:
            extractor = self.features()
            feats, _ = extractor.extract(fit_to(image_set.real, extractor))
            image_set.real_features = np.asarray(feats, np.float32)

    def generated_features(self, image_set: ImageSet) -> tuple[np.ndarray, np.ndarray | None]:
        """The evaluation extractor's (features, probabilities) of a set's made images."""
        return image_set.outputs[self._features_name]

    def classified(self, image_set: ImageSet, purpose: str) -> np.ndarray:
        """The class probabilities the ``purpose`` classifier gives a set's made images."""
        name = self.classifier_name(purpose)
        probabilities = image_set.outputs[name][1] if name in image_set.outputs else None
        if probabilities is None:
            raise DataError(f"the '{name}' classifier has no class probabilities "
                            f"(num_classes 0): it cannot be the '{purpose}' classifier")
        return probabilities
