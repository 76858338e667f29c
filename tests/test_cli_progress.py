"""``-q`` hides progress, never errors or results; eval says what inception-v3 FIDs are.

About 20 s on 2 cores: three toy trainings of one epoch, five toy evaluations.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import one_error_line, run_cli
from test_recipes import finished_run, package_of, recipe_registry  # noqa: F401 - fixtures

from genzoo_core import features
from genzoo_core.evaluation import INCEPTION_NOTE, evaluate


@pytest.fixture
def toy_weights(toy_model, tmp_path):
    """The untrained toy GAN saved as trained on toy-data."""
    path = tmp_path / "toy.h5"
    toy_model.save_weights(str(path), metadata={"dataset": "toy-data:train"})
    return path


def eval_argv(weights, output, *extra):
    return ["eval", str(weights), "--metrics", "fid,kid", "-n", "40", "-o", str(output), *extra]


def test_eval_quiet_prints_the_results_and_no_progress(toy_weights, toy_registry, tmp_path,
                                                       capsys):
    output = tmp_path / "eval.json"
    argv = eval_argv(toy_weights, output, "--features", "toy-pixels")
    code, loud, err = run_cli(argv, toy_registry, capsys)
    assert code == 0, err
    assert "generated" in loud and "real: toy-data" in loud  # the bars' labels
    code, quiet, err = run_cli([*argv, "-q"], toy_registry, capsys)
    assert code == 0, err
    lines = quiet.splitlines()
    assert lines[0].split() == ["METRIC", "VALUE"]
    assert [line.split()[0] for line in lines[1:3]] == ["fid", "kid"]
    assert lines[3:] == [f"settings and results: {output.resolve()}"]
    assert err == ""
    # Errors still come through, as one line.
    code, out, err = run_cli([*argv[:-2], "--metrics", "fdi", "-q"], toy_registry, capsys)
    assert code == 1 and one_error_line(err) and "did you mean 'fid'" in err


def test_eval_with_inception_features_says_its_fids_are_not_the_published_ones(
        toy_weights, toy_registry, tmp_path, capsys, monkeypatch):
    from toyzoo.features import build  # no Inception weights in tests: toy features instead

    monkeypatch.setattr(features, "inception_v3", build)
    output = tmp_path / "eval.json"
    code, out, err = run_cli(eval_argv(toy_weights, output, "--features", "inception-v3", "-q"),
                             toy_registry, capsys)
    assert code == 0, err
    notes = [line for line in out.splitlines() if line.startswith("note: ")]
    assert notes == [f"note: {INCEPTION_NOTE}"]
    assert "cannot be compared with published" in INCEPTION_NOTE
    report = json.loads(output.read_text())
    assert report["notes"] == [INCEPTION_NOTE]
    assert report["settings"]["features"] == "inception-v3"

    code, out, err = run_cli(eval_argv(toy_weights, output, "--features", "toy-pixels", "-q"),
                             toy_registry, capsys)
    assert code == 0, err
    assert "note:" not in out and json.loads(output.read_text())["notes"] == []


def test_the_python_report_carries_the_note_only_for_feature_metrics(
        toy_model, toy_registry, toy_data, monkeypatch):
    from toyzoo.features import build

    monkeypatch.setattr(features, "inception_v3", build)
    report = evaluate(toy_model, toy_data, metrics="fid", n=20, features="inception-v3",
                      verbose=0)
    assert report["notes"] == [INCEPTION_NOTE]
    report = evaluate(toy_model, toy_data, metrics="fid", n=20, features="toy-pixels",
                      verbose=0)
    assert report["notes"] == []


def test_train_quiet_prints_only_where_the_weights_are(toy_registry, tmp_path, capsys):
    argv = ["train", "toygan", "--data", "toy-data", "--epochs", "1", "--jit", "off"]
    code, loud, err = run_cli([*argv, "--out", str(tmp_path / "loud")], toy_registry, capsys)
    assert code == 0, err
    assert len(loud.splitlines()) > 1  # epoch lines
    code, quiet, err = run_cli([*argv, "--out", str(tmp_path / "quiet"), "-q"], toy_registry,
                               capsys)
    assert code == 0, err
    assert quiet.splitlines() == [f"trained weights: {(tmp_path / 'quiet' / 'model.h5')}"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_quiet_hides_download_percentages(tmp_path, monkeypatch):
    from genzoo_core.download import download
    from genzoo_core.progress import quiet, shown

    body = bytes(range(256)) * 64
    digest = hashlib.sha256(body).hexdigest()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/w.h5"
    try:
        shown_on_terminal = _Terminal()
        monkeypatch.setattr(sys, "stderr", shown_on_terminal)
        download(url, tmp_path / "a.h5", digest, size=len(body), deadline=30)
        assert "a.h5: 100%" in shown_on_terminal.getvalue()

        hidden = _Terminal()
        monkeypatch.setattr(sys, "stderr", hidden)
        with quiet():
            assert not shown()
            download(url, tmp_path / "b.h5", digest, size=len(body), deadline=30)
        assert shown() and hidden.getvalue() == ""
        assert (tmp_path / "b.h5").read_bytes() == body
    finally:
        server.shutdown()
        server.server_close()


def test_publish_quiet_prints_what_it_published_its_metrics_and_the_upload(
        recipe_registry, finished_run, capsys):  # noqa: F811 - the fixtures imported above
    url = "https://example.org/rtoy-toy.h5"
    code, printed, err = run_cli(["publish", str(finished_run), "--as", "rtoy/toy", "--into",
                                  str(package_of(recipe_registry).parent), "--url", url, "-q"],
                                 recipe_registry, capsys)
    assert code == 0, err
    lines = printed.splitlines()
    assert len(lines) == 3, printed  # no steps, no bars
    assert lines[0].startswith("published rtoy/toy: ")
    assert lines[1].startswith("rtoy/toy: fid ")  # the recipe's evaluation, scored
    assert lines[2].startswith("upload ") and f"to {url} before releasing" in lines[2]


def test_folders_scored_in_inception_features_get_the_note(toy_registry, tmp_path, capsys,
                                                           monkeypatch):
    import numpy as np
    from PIL import Image
    from toyzoo.features import build

    monkeypatch.setattr(features, "inception_v3", build)
    rng = np.random.default_rng(0)
    for folder in ("real", "fake"):
        (tmp_path / folder).mkdir()
        for i in range(24):
            pixels = rng.integers(0, 256, (4, 4), dtype=np.uint8)
            Image.fromarray(pixels, "L").save(tmp_path / folder / f"{i}.png")
    output = tmp_path / "eval.json"
    code, out, err = run_cli(["eval", "--real", str(tmp_path / "real"), "--fake",
                              str(tmp_path / "fake"), "--metrics", "fid", "-o", str(output),
                              "-q"], toy_registry, capsys)  # inception-v3: the default
    assert code == 0, err
    assert f"note: {INCEPTION_NOTE}" in out.splitlines()
    assert json.loads(output.read_text())["notes"] == [INCEPTION_NOTE]
