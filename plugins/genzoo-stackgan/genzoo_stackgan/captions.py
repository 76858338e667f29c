"""The caption grammar of captioned shapes: attribute names, synonyms and templates.

Pure Python (no NumPy, no Keras), so the plugin module can read the vocabulary
without importing anything heavy. :mod:`genzoo_stackgan.shapes` draws the
images; this module turns their attributes into paraphrased captions, and
those captions into the contrast captions StackGAN trains with.

Every caption states every attribute of every shape in the image: its size,
colour, kind and position, each through one of a few synonyms, inside one of a
few sentence templates. Two-shape captions join two such phrases.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from genzoo_core import DataError

SHAPES = ("circle", "square", "triangle")
"""Shape kinds; index ``k`` is stored as ``k + 1`` in the attribute arrays (0 = empty)."""
COLOURS = ("red", "green", "blue", "yellow", "purple", "white")
SIZES = ("small", "large")
POSITIONS = ("top left", "top right", "bottom left", "bottom right", "centre")

SHAPE_WORDS = {
    "circle": ("circle", "disc", "ball"),
    "square": ("square", "box", "block"),
    "triangle": ("triangle", "triangular shape"),
}
COLOUR_WORDS = {
    "red": ("red",),
    "green": ("green",),
    "blue": ("blue",),
    "yellow": ("yellow",),
    "purple": ("purple", "violet"),
    "white": ("white",),
}
SIZE_WORDS = {"small": ("small", "little", "tiny"), "large": ("large", "big", "huge")}
POSITION_WORDS = {
    "top left": ("in the top left", "in the upper left corner", "at the top left"),
    "top right": ("in the top right", "in the upper right corner", "at the top right"),
    "bottom left": ("in the bottom left", "in the lower left corner", "at the bottom left"),
    "bottom right": ("in the bottom right", "in the lower right corner", "at the bottom right"),
    "centre": ("in the centre", "in the middle", "at the center"),
}

# {p}: "size colour shape"; {w}: where it is. Every template states both.
SINGLE_TEMPLATES = (
    "a {p} {w}",
    "there is a {p} {w}",
    "{w} sits a {p}",
    "the picture shows a {p} {w}",
    "a {c} {s} {w}, and it is {z}",
)
DOUBLE_TEMPLATES = (
    "a {p1} {w1} and a {p2} {w2}",
    "there is a {p1} {w1} and a {p2} {w2}",
    "{w1} sits a {p1}, {w2} a {p2}",
    "the picture shows a {p1} {w1} and a {p2} {w2}",
    "two shapes: a {p1} {w1} and a {p2} {w2}",
)

CAPTIONS_PER_IMAGE = 5
MAX_CAPTION_WORDS = 32
"""Longer than any caption the grammar writes (the longest has 25 words)."""

# What Keras' TextVectorization strips with standardize="lower_and_strip_punctuation".
_PUNCTUATION = re.compile(r"[!\"#$%&()\*\+,\-\./:;<=>?@\[\\\]\^_`{|}~']")


def words(text: str) -> list[str]:
    """Split a caption into words as the text encoder does: lower case, no punctuation."""
    return _PUNCTUATION.sub("", text.lower()).split()


def vocabulary() -> list[str]:
    """Every word the grammar can write, sorted (the built-in text encoder's vocabulary)."""
    phrases: list[str] = []
    for table in (SHAPE_WORDS, COLOUR_WORDS, SIZE_WORDS, POSITION_WORDS):
        for options in table.values():
            phrases.extend(options)
    phrases.extend(SINGLE_TEMPLATES + DOUBLE_TEMPLATES)
    found = {w for phrase in phrases for w in words(re.sub(r"\{\w+\}", " ", phrase))}
    return sorted(found)


def contrast_word_groups() -> list[list[list[str]]]:
    """The grammar's interchangeable words: colours, then shape kinds, each a list of synonyms.

    StackGAN's default ``contrast_words``: swapping a word for one of another
    class of its group (``red`` for ``blue``, ``box`` for ``disc``) turns a
    caption into one that keeps the layout but states another colour or shape.
    """
    def single(options: Sequence[str]) -> list[str]:
        return [option.split()[0] for option in options]  # "triangular shape" -> "triangular"

    return [[single(v) for v in COLOUR_WORDS.values()], [single(v) for v in SHAPE_WORDS.values()]]


def contrast_caption(
    caption: str,
    groups: Sequence[Sequence[Sequence[str]]],
    rng: random.Random,
    exchange: float = 0.0,
) -> str | None:
    """``caption`` made wrong in one attribute: a word swapped, or two words exchanged.

    ``groups`` lists groups of classes of synonyms (see
    :func:`contrast_word_groups`). One word of the caption that belongs to some
    class is picked at random and replaced by a random synonym of another class
    of the same group, so the result contradicts the caption in exactly that
    attribute. With probability ``exchange``, and when the caption has two words
    of different classes of one group (two objects of different colours, say),
    those two words change places instead: "a red circle ... and a blue square
    ..." becomes "a blue circle ... and a red square ...". That caption names
    the same words, so only a reader that binds each colour to its object can
    tell it is wrong. ``None`` if no word of the caption is in any group.
    """
    tokens = words(caption)
    places = [
        (i, group, k)
        for i, token in enumerate(tokens)
        for group in groups
        for k, synonyms in enumerate(group)
        if token in synonyms and len(group) > 1
    ]
    if not places:
        return None
    pairs = [(a, b) for a, (i, group, k) in enumerate(places) for b, (j, other, m) in
             enumerate(places) if a < b and group is other and k != m]
    if pairs and rng.random() < exchange:
        a, b = rng.choice(pairs)
        i, j = places[a][0], places[b][0]
        tokens[i], tokens[j] = tokens[j], tokens[i]
        return " ".join(tokens)
    i, group, k = rng.choice(places)
    other = rng.choice([j for j in range(len(group)) if j != k])
    tokens[i] = rng.choice(list(group[other]))
    return " ".join(tokens)


def contrast_captions(
    captions: Sequence[str],
    groups: Sequence[Sequence[Sequence[str]]],
    exchange: float = 0.0,
    seed: int = 0,
) -> list[str | None]:
    """One :func:`contrast_caption` per caption, in order, all drawn from one seeded stream.

    The same captions, groups and seed give the same contrast captions, so
    training data prepared twice is the same.
    """
    rng = random.Random(seed)
    return [contrast_caption(caption, groups, rng, exchange) for caption in captions]


def padded(captions: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
    """Each image's captions, repeated in turn up to the most that any image has.

    ``[("a", "b", "c"), ("d",)]`` becomes ``[("a", "b", "c"), ("d", "d", "d")]``:
    every image then has as many captions, so their embeddings form one array.
    """
    most = max(len(c) for c in captions)
    return [tuple(c[i % len(c)] for i in range(most)) for c in captions]


def _phrase(rng: random.Random, shape: int, colour: int, size: int, position: int) -> dict:
    """Synonyms for one shape's attributes (``shape`` is 0-based here)."""
    s = rng.choice(SHAPE_WORDS[SHAPES[shape]])
    c = rng.choice(COLOUR_WORDS[COLOURS[colour]])
    z = rng.choice(SIZE_WORDS[SIZES[size]])
    w = rng.choice(POSITION_WORDS[POSITIONS[position]])
    return {"p": f"{z} {c} {s}", "w": w, "s": s, "c": c, "z": z}


def describe(
    objects: Sequence[tuple[int, int, int, int]],
    rng: random.Random,
    count: int = CAPTIONS_PER_IMAGE,
) -> tuple[str, ...]:
    """``count`` paraphrased captions of an image holding ``objects``.

    Args:
        objects: one or two ``(shape, colour, size, position)`` tuples of 0-based
            indices into :data:`SHAPES`, :data:`COLOURS`, :data:`SIZES`, :data:`POSITIONS`.
        rng: the source of every choice (templates, synonyms, order of the shapes).
        count: how many captions; each uses another template while templates last.

    Raises:
        DataError: ``objects`` holds no shape or more than two.
    """
    if len(objects) not in (1, 2):
        raise DataError(f"a caption describes one or two shapes, got {len(objects)}")
    templates = SINGLE_TEMPLATES if len(objects) == 1 else DOUBLE_TEMPLATES
    order = list(range(len(templates)))
    rng.shuffle(order)
    captions = []
    for i in range(count):
        template = templates[order[i % len(order)]]
        parts = [_phrase(rng, *obj) for obj in objects]
        if len(parts) == 1:
            captions.append(template.format(**parts[0]))
        else:
            rng.shuffle(parts)  # either shape may be named first
            first, second = parts
            captions.append(template.format(
                p1=first["p"], w1=first["w"], p2=second["p"], w2=second["w"]
            ))
    return tuple(captions)
