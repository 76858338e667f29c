"""``--json`` on every listing command: one JSON document on stdout, fields from the registry."""

from __future__ import annotations

import json

from conftest import run_cli

from genzoo_core.registry import Registry

SHA = "ab" * 32

# A plugin with two folder datasets, one that can be downloaded and one that cannot.
FILES_PLUGIN = f"""
from genzoo_core import DatasetSpec, hookimpl

@hookimpl
def genzoo_api_range():
    return ">=1.0,<2"

@hookimpl
def genzoo_register_datasets():
    return [
        DatasetSpec(name="fetched", loader="zoo_test_files:load", folder="zoo/fetched",
                    image_shape=(8, 8, 3), archive_url="https://example.org/fetched.zip",
                    archive_sha256="{SHA}", archive_size=1234, features="toy-pixels"),
        DatasetSpec(name="by-hand", loader="zoo_test_files:load", folder="zoo/by-hand",
                    image_shape=(8, 8, 3)),
    ]

def load(folder, split):
    raise AssertionError("listing must not load data")
"""


def listed(argv, registry, capsys):
    """Run a listing with --json: (parsed stdout, stderr)."""
    code, out, err = run_cli([*argv, "--json"], registry, capsys)
    assert code == 0, err
    return json.loads(out), err


def test_datasets_json_carries_the_specs_and_where_the_files_are(
        make_plugin, toy_registry, capsys, tmp_path, monkeypatch):
    site = make_plugin("genzoo-zoo-test-files", {"zoo_test_files.py": FILES_PLUGIN},
                       {"files": "zoo_test_files"})
    registry = Registry(path=[*toy_registry.path, str(site)])
    data = tmp_path / "data"
    monkeypatch.setenv("GENZOO_DATA", str(data))
    records, _ = listed(["datasets"], registry, capsys)
    assert [d["name"] for d in records] == sorted(registry.datasets)
    for record in records:
        spec = registry.get_dataset(record["name"])
        assert record["condition"] == spec.condition.value
        assert record["image_shape"] == list(spec.image_shape)
        assert record["num_classes"] == spec.num_classes
        assert record["distribution"] == spec.distribution
        assert record["description"] == spec.description
    by_name = {d["name"]: d for d in records}
    mnist = by_name["mnist"]
    assert (mnist["features"], mnist["classifiers"]) == ("mnist-cnn", {"labels": "mnist-cnn"})
    assert (mnist["source"], mnist["path"], mnist["folder"]) == ("loader", None, None)
    assert by_name["binarized-mnist"]["compare_with"] == "mnist"
    assert by_name["toy-data"]["features"] is None  # the evaluation's default
    fetched, by_hand = by_name["fetched"], by_name["by-hand"]
    assert (fetched["source"], fetched["path"]) == ("download", None)
    assert fetched["archive_url"] == "https://example.org/fetched.zip"
    assert fetched["archive_size"] == 1234 and fetched["folder"] == "zoo/fetched"
    assert (by_hand["source"], by_hand["archive_url"]) == ("missing", None)

    (data / "zoo" / "by-hand").mkdir(parents=True)  # a copy under GENZOO_DATA is found
    records, _ = listed(["datasets"], registry, capsys)
    by_hand = {d["name"]: d for d in records}["by-hand"]
    assert by_hand["source"] == "data"
    assert by_hand["path"] == str((data / "zoo" / "by-hand").resolve())


def test_features_json_matches_the_registry_and_flags_inception(toy_registry, capsys):
    records, _ = listed(["features"], toy_registry, capsys)
    extractors = toy_registry.feature_extractors
    assert [e["name"] for e in records] == sorted(extractors)
    for record in records:
        spec = extractors[record["name"]]
        assert record["feature_dim"] == spec.feature_dim
        assert record["num_classes"] == spec.num_classes
        assert record["image_shape"] == (list(spec.image_shape) if spec.image_shape else None)
        assert record["sha256"] == (spec.sha256 or None)
        assert record["distribution"] == spec.distribution
    by_name = {e["name"]: e for e in records}
    assert by_name["toy-pixels"]["image_shape"] == [4, 4, 1]
    assert by_name["toy-pixels"]["note"] is None
    assert by_name["mnist-cnn"]["metrics"]["test_accuracy"] > 0.9
    assert "cannot be compared with published FIDs" in by_name["inception-v3"]["note"]


def test_features_text_says_inception_fids_are_not_the_published_ones(toy_registry, capsys):
    code, out, err = run_cli(["features"], toy_registry, capsys)
    assert code == 0 and "inception-v3" in out and "note" not in out
    assert err.startswith("note: inception-v3 is Keras' ImageNet InceptionV3")
    assert err.count("\n") == 1 and "cannot be compared with published FIDs" in err


def test_plugins_json_shows_a_load_error(make_plugin, toy_registry, capsys):
    site = make_plugin("genzoo-zoo-test-broken",
                       {"zoo_test_broken_json.py": "raise RuntimeError('boom at import')\n"},
                       {"broken": "zoo_test_broken_json"}, version="2.3")
    registry = Registry(path=[*toy_registry.path, str(site)])
    document, err = listed(["plugins"], registry, capsys)
    from genzoo_core.version import API_VERSION, __version__

    assert (document["genzoo_core"], document["api_version"]) == (__version__, API_VERSION)
    assert document["conflicts"] == []
    plugins = {p["name"]: p for p in document["plugins"]}
    assert [p["name"] for p in document["plugins"]] == [p.name for p in registry.plugins]
    broken = plugins["broken"]
    assert (broken["status"], broken["distribution"], broken["version"]) == (
        "failed", "genzoo-zoo-test-broken", "2.3")
    assert "RuntimeError: boom at import" in broken["error"]
    assert broken["traceback"] is None and broken["models"] == []
    toy = plugins["toy"]
    assert (toy["status"], toy["error"], toy["api_range"]) == ("ok", None, ">=1.0,<2")
    assert toy["models"] == ["toygan", "toycgan", "toylik"]
    assert toy["datasets"] == ["toy-data"] and toy["feature_extractors"] == ["toy-pixels"]
    assert "fid" in plugins["genzoo-core"]["metrics"]

    code, out, _ = run_cli(["plugins", "--json", "-v"], registry, capsys)
    broken = {p["name"]: p for p in json.loads(out)["plugins"]}["broken"]
    assert "Traceback" in broken["traceback"] and "boom at import" in broken["traceback"]

    # The other listings keep stdout one JSON document and note the failure on stderr.
    _, err = listed(["datasets"], registry, capsys)
    assert "1 plugin(s) not loaded: broken (failed)" in err


def test_metrics_json_matches_the_registry(toy_registry, capsys):
    records, _ = listed(["metrics"], toy_registry, capsys)
    metrics = toy_registry.metrics
    assert [m["name"] for m in records] == list(metrics)
    for record in records:
        spec = metrics[record["name"]]
        assert record["conditions"] == [c.value for c in spec.conditions]
        assert record["capabilities"] == [c.value for c in spec.capabilities]
        assert record["classifiers"] == list(spec.classifiers)
        assert record["default"] is spec.default
    by_name = {m["name"]: m for m in records}
    assert by_name["nll"]["capabilities"] == ["log_prob"]
    assert by_name["domain_accuracy"]["classifiers"] == ["domain"]


def test_list_json_is_unchanged_by_the_shared_printer(toy_registry, capsys):
    records, err = listed(["list"], toy_registry, capsys)
    assert [m["name"] for m in records] == sorted(toy_registry.models)
    assert records[0]["capabilities"] == sorted(
        c.value for c in toy_registry.get_model(records[0]["name"]).capabilities)
    assert err == ""
