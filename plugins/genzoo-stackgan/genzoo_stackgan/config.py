"""Checks of a StackGAN config that its schema cannot express.

The schema in :mod:`genzoo_stackgan.plugin` checks each key on its own (types,
ranges, choices) before the model is built. What is left are rules across keys
and on the shape of values: the image is square RGB with a side that is a
multiple of 32, the filter lists fit the image sizes, with ``grid_condition``
the embedding splits into each 4x4 map's cells, and ``contrast_words`` is a
list of groups of classes of synonyms. Each failure is a
:class:`genzoo_core.ConfigError` naming the key, raised before any layer is
built. Pure Python: nothing here imports Keras.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from genzoo_core import ConfigError


def check_image_shape(image_shape: Sequence[int]) -> int:
    """The side of a square RGB ``image_shape`` that is a multiple of 32, else a ConfigError."""
    height, width, channels = image_shape
    if height != width or channels != 3 or height % 32:
        raise ConfigError(
            f"stackgan draws square RGB images whose side is a multiple of 32, got "
            f"image_shape {list(image_shape)}"
        )
    return int(height)


def check_grid(embedding_dim: int, side: int) -> None:
    """A ConfigError unless the embedding splits into a ``side`` x ``side`` grid of cells."""
    if embedding_dim % (side * side):
        raise ConfigError(
            f"grid_condition reads the embedding as a {side}x{side} grid: embedding_dim "
            f"must be a multiple of {side * side}, got {embedding_dim}"
        )


def check_geometry(config: Mapping[str, Any], low_size: int, size: int) -> None:
    """ConfigErrors for filter lists that do not fit the image sizes, before any layer.

    Stage-I's generator starts from a map of at most 8x8 and doubles it once per
    width after the first, up to ``low_size``; with ``grid_condition`` the
    embedding must split into that map's cells and into each discriminator's
    final map.
    """
    filters = config["stage1_generator_filters"]
    doublings = 2 ** (len(filters) - 1)
    base = low_size // doublings
    if base < 1 or base > 8 or base * doublings != low_size:
        raise ConfigError(
            f"stage1_generator_filters {filters}: list the width of a start map of at most "
            f"8x8, then one width per doubling up to the {low_size}x{low_size} Stage-I image "
            f"(for 64x64 images, 4 widths: 4x4 up to 32x32)"
        )
    if config["grid_condition"]:
        sides = [base]
        for image_size, key in ((low_size, "stage1_discriminator_filters"),
                                (size, "stage2_discriminator_filters")):
            side = image_size
            for _ in config[key]:
                side = -(-side // 2)  # a stride-2 'same' convolution
            sides.append(side)
        for side in sides:
            check_grid(int(config["embedding_dim"]), side)


def check_contrast_words(groups: Any) -> list[list[list[str]]]:
    """``contrast_words`` as lists, or a ConfigError that shows the expected form."""
    form = ('a list of groups, each a list of classes, each a list of synonyms, e.g. '
            '[[["red"], ["blue"]], [["circle", "disc"], ["square", "box"]]]')
    if not isinstance(groups, (list, tuple)):
        raise ConfigError(f"contrast_words must be {form}; got {groups!r}")
    checked = []
    for group in groups:
        if not isinstance(group, (list, tuple)) or not all(
                isinstance(synonyms, (list, tuple)) and synonyms
                and all(isinstance(word, str) and word for word in synonyms)
                for synonyms in group):
            raise ConfigError(f"contrast_words must be {form}; got the group {group!r}")
        checked.append([list(synonyms) for synonyms in group])
    return checked
