"""genzoo-core's own registrations, made through the same hooks as any plugin."""

from __future__ import annotations

from genzoo_core.hookspecs import hookimpl
from genzoo_core.spec import DatasetSpec
from genzoo_core.version import API_VERSION


@hookimpl
def genzoo_api_range() -> str:
    """genzoo-core always supports its own API."""
    return f"=={API_VERSION}"


@hookimpl
def genzoo_register_datasets() -> list[DatasetSpec]:
    """The MNIST family, read from ``GENZOO_DATA`` or the Keras dataset cache."""
    return [
        DatasetSpec(
            name="mnist",
            loader="genzoo_core.data:load_mnist",
            description="MNIST handwritten digits, 60k train / 10k test, 28x28 grey, 10 classes",
            condition="class_label",
            image_shape=(28, 28, 1),
            num_classes=10,
        ),
        DatasetSpec(
            name="fashion-mnist",
            loader="genzoo_core.data:load_fashion_mnist",
            description="Fashion-MNIST articles, 60k train / 10k test, 28x28 grey, 10 classes",
            condition="class_label",
            image_shape=(28, 28, 1),
            num_classes=10,
        ),
    ]
