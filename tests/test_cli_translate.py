"""``genzoo sample MODEL --input``: an image is never squashed to the model's aspect ratio."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import one_error_line, require_data, write_distribution
from conftest import run_cli as run

PLUGIN = '''
from dataclasses import replace

from genzoo_core import hookimpl
from toyzoo.plugin import SPEC

TRANSLATOR = replace(
    SPEC, name="toytrans", builder="zoo_test_translate_model:ToyTranslator",
    condition="paired_image", capabilities=("sample", "translate"),
    default_config={**SPEC.default_config, "image_shape": [8, 8, 3]},
)


@hookimpl
def genzoo_api_range():
    return ">=1.0,<2"


@hookimpl
def genzoo_register_models():
    return [TRANSLATOR]
'''

MODEL = '''
import numpy as np
import tensorflow as tf

from toyzoo.model import ToyGAN
from zoo_test_translate import TRANSLATOR


class ToyTranslator(ToyGAN):
    """Translates by resizing to the model's size: the output shows what went in."""

    spec = TRANSLATOR

    def translate(self, x, *, direction=None):
        x = np.asarray(x, np.float32)
        return tf.image.resize(x, (8, 8), antialias=True).numpy()
'''


@pytest.fixture
def translator(toy_registry, tmp_path, monkeypatch):
    """Weights of an 8x8 RGB translator, with a registry that knows it."""
    from genzoo_core import create
    from genzoo_core import registry as registry_module

    site = tmp_path / "translate-site"
    write_distribution(site, "genzoo-translate", "0.1", {"translate": "zoo_test_translate"},
                       {"zoo_test_translate.py": PLUGIN, "zoo_test_translate_model.py": MODEL})
    monkeypatch.syspath_prepend(str(site))
    registry = registry_module.Registry(path=[*toy_registry.path, str(site)])
    monkeypatch.setattr(registry_module, "_default", registry)
    weights = tmp_path / "translator.h5"
    create("toytrans", registry=registry).save_weights(str(weights))
    return registry, weights


def write_png(path, image):
    import tensorflow as tf

    path.write_bytes(tf.io.encode_png(np.asarray(image, np.uint8)).numpy())
    return path


def read_png(path):
    import tensorflow as tf

    return tf.io.decode_png(tf.io.read_file(str(path))).numpy()


def pair(height=8):
    """A side-by-side A|B pair: red on the left, blue on the right."""
    image = np.zeros((height, 2 * height, 3), np.uint8)
    image[:, :height, 0] = 255
    image[:, height:, 2] = 255
    return image


def test_a_side_by_side_pair_is_refused_with_the_crop_to_use(translator, tmp_path, capsys):
    registry, weights = translator
    source = write_png(tmp_path / "pair.png", pair())
    target = tmp_path / "out.png"
    code, _, err = run(["sample", str(weights), "--input", str(source), "-o", str(target)],
                       registry, capsys)
    assert code == 1 and one_error_line(err), err
    assert "16x8" in err and "8x8" in err
    assert "side-by-side" in err and "--crop left" in err
    assert not target.exists()


def test_crop_left_translates_the_left_half_and_says_so(translator, tmp_path, capsys):
    registry, weights = translator
    source = write_png(tmp_path / "pair.png", pair(16))
    target = tmp_path / "out.png"
    code, out, err = run(["sample", str(weights), "--input", str(source), "-o", str(target),
                          "--crop", "left"], registry, capsys)
    assert code == 0, err
    assert err.startswith("warning: ") and err.count("\n") == 1
    assert "cropped" in err and "32x16" in err and "16x16" in err and "left" in err
    result = read_png(target).astype(float)
    assert result.shape == (8, 8, 3)
    assert result[..., 0].mean() > 250 and result[..., 2].mean() < 5  # the red half only
    code, _, err = run(["sample", str(weights), "--input", str(source), "-o", str(target),
                        "--crop", "right"], registry, capsys)
    assert code == 0 and read_png(target)[..., 2].mean() > 250


def test_a_non_square_image_is_refused_or_centre_cropped(translator, tmp_path, capsys):
    registry, weights = translator
    image = np.zeros((8, 12, 3), np.uint8)
    image[:, 2:10] = 200  # the centre 8x8 square is bright, the edges dark
    source = write_png(tmp_path / "wide.png", image)
    target = tmp_path / "out.png"
    code, _, err = run(["sample", str(weights), "--input", str(source), "-o", str(target)],
                       registry, capsys)
    assert code == 1 and one_error_line(err), err
    assert "12x8" in err and "8x8" in err and "--crop" in err and "side-by-side" not in err
    assert not target.exists()
    code, _, err = run(["sample", str(weights), "--input", str(source), "-o", str(target),
                        "--crop", "center"], registry, capsys)
    assert code == 0 and "cropped" in err
    assert read_png(target).min() == 200


def test_crop_must_fit_the_image_orientation(translator, tmp_path, capsys):
    registry, weights = translator
    source = write_png(tmp_path / "tall.png", np.zeros((12, 8, 3), np.uint8))
    code, _, err = run(["sample", str(weights), "--input", str(source), "-o",
                        str(tmp_path / "out.png"), "--crop", "left"], registry, capsys)
    assert code == 1 and one_error_line(err) and "--crop top" in err


def test_a_square_image_is_resized_without_a_word(translator, tmp_path, capsys):
    registry, weights = translator
    source = write_png(tmp_path / "square.png", np.full((16, 16, 3), 90, np.uint8))
    target = tmp_path / "out.png"
    code, _, err = run(["sample", str(weights), "--input", str(source), "-o", str(target)],
                       registry, capsys)
    assert code == 0 and err == ""
    assert read_png(target).shape == (8, 8, 3)
    code, _, err = run(["sample", str(weights), "--input", str(source), "-o", str(target),
                        "--crop", "left"], registry, capsys)  # nothing to crop: no complaint
    assert code == 0 and err == ""


def test_a_folder_is_checked_whole_before_anything_is_written(translator, tmp_path, capsys):
    registry, weights = translator
    folder = tmp_path / "photos"
    folder.mkdir()
    write_png(folder / "a.png", np.full((8, 8, 3), 10, np.uint8))
    write_png(folder / "b.png", pair())
    target = tmp_path / "translated"
    code, _, err = run(["sample", str(weights), "--input", str(folder), "-o", str(target)],
                       registry, capsys)
    assert code == 1 and one_error_line(err) and "b.png" in err
    assert not target.exists()
    target.mkdir()  # an existing folder keeps its files and gains none
    (target / "keep.txt").write_text("mine")
    code, _, err = run(["sample", str(weights), "--input", str(folder), "-o", str(target)],
                       registry, capsys)
    assert code == 1 and sorted(p.name for p in target.iterdir()) == ["keep.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".translated")]
    shutil.copy(folder / "a.png", folder / "b.png")
    code, out, err = run(["sample", str(weights), "--input", str(folder), "-o", str(target)],
                         registry, capsys)
    assert code == 0, err
    assert sorted(p.name for p in target.iterdir()) == ["a.png", "b.png", "keep.txt"]


def test_translation_output_must_be_a_png_file(translator, tmp_path, capsys):
    registry, weights = translator
    source = write_png(tmp_path / "square.png", np.zeros((8, 8, 3), np.uint8))
    for output, expected in ((tmp_path, "is a folder"), (tmp_path / "out.jpg", ".png")):
        code, _, err = run(["sample", str(weights), "--input", str(source), "-o", str(output)],
                           registry, capsys)
        assert code == 1 and one_error_line(err) and expected in err, err
    assert not (tmp_path / "out.jpg").exists()


def test_a_maps_pair_from_the_dataset_is_recognised(translator, tmp_path, capsys):
    photo_map = require_data("pix2pix/maps/val/1.jpg")
    registry, weights = translator
    code, _, err = run(["sample", str(weights), "--input", str(photo_map), "-o",
                        str(tmp_path / "out.png")], registry, capsys)
    assert code == 1 and one_error_line(err)
    assert "1200x600" in err and "side-by-side" in err and "--crop left" in err


def test_crop_boxes_take_the_named_part_at_full_height_or_width():
    from genzoo_core import cli, images

    assert cli.CROPS == images.CROPS
    wide, square = (600, 1200), (256, 256)
    assert images.crop_box(wide, square, "left") == (0, 0, 600, 600)
    assert images.crop_box(wide, square, "right") == (0, 600, 600, 600)
    assert images.crop_box(wide, square, "center") == (0, 300, 600, 600)
    assert images.crop_box((9, 4), (2, 2), "bottom") == (5, 0, 4, 4)
    assert images.crop_box((8, 8), square, "left") == (0, 0, 8, 8)  # already square
    with pytest.raises(images.GenzooError, match="wide"):
        images.crop_box(wide, square, "top")
