"""genzoo-core's own registrations, made through the same hooks as any plugin."""

from __future__ import annotations

import json
from pathlib import Path

from genzoo_core.hookspecs import hookimpl
from genzoo_core.spec import DatasetSpec, FeatureExtractorSpec, MetricSpec
from genzoo_core.version import API_VERSION

MANIFEST = Path(__file__).resolve().parent / "extractors" / "manifest.json"
SHIPPED_EXTRACTORS = {"mnist-cnn": "mnist_cnn", "fashion-mnist-cnn": "fashion_mnist_cnn"}
"""The classifiers genzoo-core ships (name -> builder in features.py): reserved names even
when an installation lacks their manifest."""


@hookimpl
def genzoo_api_range() -> str:
    """genzoo-core always supports its own API."""
    return f"=={API_VERSION}"


@hookimpl
def genzoo_register_datasets() -> list[DatasetSpec]:
    """The MNIST family (from ``GENZOO_DATA`` or the Keras cache).

    Datasets of one model family come with its plugin (``maps`` with genzoo-pix2pix,
    ``summer2winter`` with genzoo-cyclegan), which declares where to download them.
    """
    return [
        DatasetSpec(
            name="mnist",
            loader="genzoo_core.data:load_mnist",
            description="MNIST handwritten digits, 60k train / 10k test, 28x28 grey, 10 classes",
            condition="class_label",
            image_shape=(28, 28, 1),
            num_classes=10,
            features="mnist-cnn",
            classifiers={"labels": "mnist-cnn"},
        ),
        DatasetSpec(
            name="binarized-mnist",
            loader="genzoo_core.data:load_binarized_mnist",
            description="MNIST as bits for likelihood models: test split binarized with "
            "seed 0, train split binarized afresh in every batch",
            condition="class_label",
            image_shape=(28, 28, 1),
            num_classes=10,
            features="mnist-cnn",
            classifiers={"labels": "mnist-cnn"},
            compare_with="mnist",
        ),
        DatasetSpec(
            name="fashion-mnist",
            loader="genzoo_core.data:load_fashion_mnist",
            description="Fashion-MNIST articles, 60k train / 10k test, 28x28 grey, 10 classes",
            condition="class_label",
            image_shape=(28, 28, 1),
            num_classes=10,
            features="fashion-mnist-cnn",
            classifiers={"labels": "fashion-mnist-cnn"},
        ),
    ]


@hookimpl
def genzoo_register_feature_extractors() -> list[FeatureExtractorSpec]:
    """InceptionV3 (ImageNet weights via Keras), and the shipped MNIST-family classifiers."""
    specs = [
        FeatureExtractorSpec(
            name="inception-v3",
            builder="genzoo_core.features:inception_v3",
            description="InceptionV3 2048-d pool features, ImageNet weights, 299x299 bilinear",
            feature_dim=2048,
            num_classes=1000,
        ),
        FeatureExtractorSpec(
            name="image-stats",
            builder="genzoo_core.features:image_stats",
            description="12 low-level statistics per image (mean and std of each channel, "
            "and of its gradient magnitude), no weights: FID on a few dozen images",
            feature_dim=12,
        ),
    ]
    shipped = json.loads(MANIFEST.read_text()) if MANIFEST.is_file() else {}
    for name, facts in shipped.items():
        specs.append(
            FeatureExtractorSpec(
                name=name,
                builder=f"genzoo_core.features:{SHIPPED_EXTRACTORS[name]}",
                description=facts["description"],
                image_shape=tuple(facts["image_shape"]),
                feature_dim=facts["feature_dim"],
                num_classes=facts["num_classes"],
                sha256=facts["sha256"],
                metrics={"test_accuracy": facts["test_accuracy"]},
            )
        )
    return specs


_IMAGES = ("unconditional", "class_label")
_SAMPLED_OR_TEXT = ("unconditional", "class_label", "text")
_TRANSLATION = ("paired_image", "unpaired_domains")


def _metric(name: str, description: str, **fields: object) -> MetricSpec:
    scorer = f"genzoo_core.evaluation.scorers:{fields.pop('scorer', name)}"
    return MetricSpec(name=name, scorer=scorer, description=description,
                      **fields)  # type: ignore[arg-type]


@hookimpl
def genzoo_register_metrics() -> list[MetricSpec]:
    """The core's metric suites, chosen by a model's data condition and capabilities."""
    return [
        _metric("fid", "Frechet distance of made to real images in the dataset's features"),
        _metric("kid", "Kernel Inception Distance (mean ± std over subsets)"),
        _metric("is", "Inception Score of samples, by the features extractor's classes",
                scorer="inception_score", conditions=_IMAGES),
        _metric("pr", "improved precision and recall (k nearest neighbours)",
                scorer="precision_recall", conditions=_SAMPLED_OR_TEXT),
        _metric("label_accuracy", "share of samples the dataset's labels classifier gives "
                "the label they were drawn for", conditions=("class_label",),
                classifiers=("labels",)),
        _metric("nll", "negative log-likelihood of held-out images: nats and bits per dim",
                capabilities=("log_prob",)),
        _metric("l1", "mean |translation - target|, pixels in [0, 1]",
                conditions=("paired_image",), capabilities=("translate",)),
        _metric("ssim", "mean structural similarity of translation and target",
                conditions=("paired_image",), capabilities=("translate",)),
        _metric("sharpness", "mean difference of neighbouring pixels of the translations "
                "(and of the real targets)", conditions=_TRANSLATION,
                capabilities=("translate",)),
        _metric("cycle_l1", "mean |x - G_back(G_there(x))| of held-out inputs",
                conditions=("unpaired_domains",), capabilities=("translate",)),
        _metric("domain_accuracy", "share of translations the dataset's domain classifier "
                "assigns to the target domain", conditions=("unpaired_domains",),
                capabilities=("translate",), classifiers=("domain",)),
        _metric("attribute_accuracy", "how often images show what their captions state, by "
                "the dataset's attributes classifier", conditions=("text",),
                classifiers=("attributes",)),
    ]
