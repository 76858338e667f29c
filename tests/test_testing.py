"""The conformance kit: it passes conforming models and names what a broken one breaks."""

from __future__ import annotations

import importlib.util
import textwrap

import numpy as np
import pytest

from genzoo_core import GenzooError
from genzoo_core.testing import (
    CHECKS,
    check_model,
    check_sample,
    parametrize_with_checks,
)

CHECK_NAMES = [check.__name__ for check in CHECKS]


@pytest.mark.parametrize("name", ["toygan", "toycgan", "toylik"])
def test_toy_models_pass_every_check(toy_registry, name):
    outcome = check_model(name)
    assert list(outcome) == CHECK_NAMES
    assert outcome["check_pretrained_weights"].startswith("skipped: 'toy")
    assert all(v == "passed" for k, v in outcome.items() if k != "check_pretrained_weights")


BROKEN = {
    # name: (a ToyGAN subclass body, then each check that fails and words in its message)
    "unseeded": (
        """
        def generate(self, n, *, condition, rng):
            ToyGAN.generate(self, n, condition=condition, rng=rng)  # keeps its checks
            return np.random.default_rng().random((n, 4, 4, 1))
        """,
        "check_sample", "same seed gave different images",
        # ...and so the weights round trip cannot reproduce its samples either
        "check_weights_roundtrip", "samples other images",
        # ...nor can JAX (where it is installed) sample TensorFlow's images
        *(("check_backend_inference", "differs from TensorFlow")
          if importlib.util.find_spec("jax") else ()),
    ),
    "frozen": (
        """
        def train_step(self, batch):
            return {"d_loss": tf.constant(0.0)}
        """,
        "check_train_step", "changed no trainable weight",
    ),
    "diverging": (
        """
        def train_step(self, batch):
            return {"d_loss": tf.constant(float("nan"))}
        """,
        "check_train_step", "d_loss",
    ),
    "permissive": (
        """
        def generate(self, n, *, condition, rng):
            return ToyGAN.generate(self, n, condition=None, rng=rng)
        """,
        "check_capabilities", "sampled with a condition was accepted",
    ),
    "crashing": (
        """
        def generate(self, n, *, condition, rng):
            if n == 0:
                raise ValueError("boom")
            return ToyGAN.generate(self, n, condition=condition, rng=rng)
        """,
        None, None,  # sample(0) never reaches generate: the base class refuses it
    ),
}


@pytest.fixture
def registry_with(make_plugin, toy_registry, monkeypatch):
    """registry_with(name, body): the toy GAN with ``body`` replacing some methods."""
    from genzoo_core import registry as registry_module

    def make(name, body, capabilities=("sample",)):
        module = f"zoo_test_{name}"
        source = "\n".join([
            "import numpy as np",
            "import tensorflow as tf",
            "from dataclasses import replace",
            "from genzoo_core.plugin import hookimpl",
            "from toyzoo.model import ToyGAN",
            "from toyzoo.plugin import SPEC as TOY",
            f"SPEC = replace(TOY, name={name!r}, builder='{module}:Broken',",
            f"               capabilities={capabilities!r})",
            "class Broken(ToyGAN):",
            "    spec = SPEC",
            textwrap.indent(textwrap.dedent(body), "    "),
            "@hookimpl",
            "def genzoo_api_range():",
            "    return '>=1.0,<2'",
            "@hookimpl",
            "def genzoo_register_models():",
            "    return [SPEC]",
        ])
        site = make_plugin(f"genzoo-{name}", {f"{module}.py": source}, {name: module})
        registry = registry_module.Registry(path=[*toy_registry.path, str(site)])
        failed = [r.error for r in registry.plugins if r.status != "ok"]
        assert not failed, failed
        monkeypatch.setattr(registry_module, "_default", registry)
        return registry

    return make


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_the_kit_names_what_a_broken_model_breaks(registry_with, name):
    body, *failures = BROKEN[name]
    registry_with(name, body)
    failing = dict(zip(failures[::2], failures[1::2]))
    if not any(failing):
        check_model(name)
        return
    first, words = next(iter(failing.items()))
    with pytest.raises(AssertionError, match=f"{first} failed: .*{words}"):
        check_model(name)
    # the same model passes when its failures are expected, with the reasons recorded
    outcome = check_model(name, expected_failed_checks=dict.fromkeys(failing, "known: x"))
    assert {k for k, v in outcome.items() if v == "failed as expected: known: x"} == set(failing)


def test_a_declared_capability_must_exist(registry_with):
    registry_with("boasting", "pass", capabilities=("sample", "log_prob"))
    with pytest.raises(AssertionError, match="declares 'log_prob' but has no log_prob"):
        check_model("boasting")


def test_expected_failures_must_fail_and_be_explained(toy_registry):
    with pytest.raises(AssertionError, match="check_sample passed but is listed"):
        check_model("toygan", expected_failed_checks={"check_sample": "flaky"})
    with pytest.raises(GenzooError, match="not a check"):
        check_model("toygan", expected_failed_checks={"check_everything": "x"})
    with pytest.raises(GenzooError, match="written reason"):
        check_model("toygan", expected_failed_checks={"check_sample": " "})


def test_config_overrides_reach_the_checks(toy_registry):
    import genzoo_core
    from genzoo_core.testing import KitOptions

    check_sample("toygan", KitOptions(config={"units": 3}))
    with pytest.raises(genzoo_core.ConfigError, match="no config key"):
        check_sample("toygan", KitOptions(config={"bogus": 1}))


def test_parametrize_with_checks_makes_one_test_per_check():
    mark = parametrize_with_checks(
        ["toygan", "toycgan"], expected_failed_checks={"toycgan": {"check_train_step": "why"}}
    )
    assert mark.args[0] == ("model", "check")
    params = mark.args[1]
    assert [p.id for p in params[:len(CHECKS)]] == [f"toygan-{n}" for n in CHECK_NAMES]
    assert len(params) == 2 * len(CHECKS)
    xfails = [(p.id, m.kwargs) for p in params for m in p.marks if m.name == "xfail"]
    assert xfails == [("toycgan-check_train_step", {"reason": "why", "strict": True})]


@parametrize_with_checks(["toycgan"])
def test_the_decorator_runs_each_check(toy_registry, model, check):
    check(model)


def test_the_pytest_plugin_parametrizes_over_installed_models(pytester, toy_registry):
    # In process, the inner pytest sees this test's default registry: the toy plugin.
    pytester.makepyfile(test_kit_through_the_plugin="""
        def test_kit(genzoo_model, genzoo_check):
            genzoo_check(genzoo_model)
    """)
    result = pytester.runpytest("--genzoo-model", "toygan", "-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=len(CHECKS) - 1, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED*'toygan' declares no pretrained weights"])


def test_a_project_overrides_the_kit_options_per_model(pytester, toy_registry):
    # The override's config reaches the checks: an invalid config key makes them fail.
    pytester.makepyfile(test_kit_with_options="""
        import pytest
        from genzoo_core.testing import KitOptions

        @pytest.fixture
        def genzoo_kit_options():
            broken = KitOptions(config={"no_such_key": 1})
            return lambda name: broken if name == "toygan" else KitOptions()

        def test_kit(genzoo_model, genzoo_check):
            genzoo_check(genzoo_model)
    """)
    result = pytester.runpytest("--genzoo-model", "toygan", "-k", "check_sample",
                                "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no config key(s) no_such_key*"])


def test_check_images_reports_the_first_problem(toy_registry):
    from genzoo_core.testing import _check_images

    good = np.zeros((2, 4, 4, 1), np.float32)
    _check_images(good, 2, "x")
    for bad, words in ((good.astype(np.float64), "float32"), (good[0], "shape"),
                       (good + 2, r"values in \[2, 2\]"), (good * np.nan, "NaN")):
        with pytest.raises(AssertionError, match=words):
            _check_images(bad, 2, "x")


KIT_TEST = """
    def test_kit(genzoo_model, genzoo_check):
        genzoo_check(genzoo_model)

    def test_unrelated():
        assert True
"""


def hooks_plugin(models: str = "[]", raises: str = "") -> str:
    body = f"raise {raises}" if raises else f"return {models}"
    return "\n".join([
        "from genzoo_core.plugin import ModelSpec, hookimpl",
        "@hookimpl",
        "def genzoo_api_range():",
        "    return '>=1.0,<2'",
        "@hookimpl",
        "def genzoo_register_models():",
        f"    {body}",
    ])


@pytest.fixture
def troubled_registry(make_plugin, toy_registry, monkeypatch):
    """The toy plugin, a plugin whose hook raises SystemExit, and two claiming 'dup'."""
    from genzoo_core import registry as registry_module

    dup = "[ModelSpec(name='dup', builder='zoo_test_dup.model:M', components=('g',))]"
    make_plugin("genzoo-exiter", {"zoo_test_exiter.py": hooks_plugin(raises="SystemExit(3)")},
                {"exiter": "zoo_test_exiter"})
    make_plugin("genzoo-dup-a", {"zoo_test_dup_a.py": hooks_plugin(dup)},
                {"dup-a": "zoo_test_dup_a"})
    site = make_plugin("genzoo-dup-b", {"zoo_test_dup_b.py": hooks_plugin(dup)},
                       {"dup-b": "zoo_test_dup_b"})
    registry = registry_module.Registry(path=[*toy_registry.path, str(site)])
    monkeypatch.setattr(registry_module, "_default", registry)
    return registry


EXITER = ("'exiter' (genzoo-exiter 1.0) failed: hook genzoo_register_models() raised "
          "SystemExit: 3")
DUP = ("model name 'dup' is registered by more than one distribution: genzoo-dup-a 1.0 "
       "*genzoo-dup-b 1.0 *")


def test_a_kit_run_fails_loudly_when_an_installed_plugin_is_broken(pytester, troubled_registry):
    pytester.makepyfile(test_kit_everything=KIT_TEST)
    result = pytester.runpytest("--collect-only", "-p", "no:cacheprovider")
    assert result.ret != 0
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "*the genzoo conformance kit cannot check every installed model:*",
        f"*plugin {EXITER}*",
        f"*{DUP}*",
        "*--genzoo-model NAME*",
    ])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_a_kit_run_narrowed_to_sound_models_ignores_problems_elsewhere(
        pytester, troubled_registry):
    pytester.makepyfile(test_kit_narrowed=KIT_TEST)
    result = pytester.runpytest("--collect-only", "-q", "--genzoo-model", "toygan",
                                "-p", "no:cacheprovider")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["*test_kit?toygan-check_spec?*"])
    result.stdout.no_fnmatch_line("*exiter*")


@pytest.mark.parametrize(("model", "cause"), [
    ("exiter", f"*--genzoo-model exiter: unknown model 'exiter'. *{EXITER}*"),
    ("dup", f"*--genzoo-model dup: {DUP}"),
    ("toygn", "*--genzoo-model toygn: unknown model 'toygn'. Did you mean: toygan*"),
])
def test_a_narrowed_kit_run_fails_loudly_for_a_named_model_that_is_missing(
        pytester, troubled_registry, model, cause):
    pytester.makepyfile(test_kit_named=KIT_TEST)
    result = pytester.runpytest("--collect-only", "--genzoo-model", "toygan",
                                "--genzoo-model", model, "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*the genzoo conformance kit cannot check the models "
                                 "--genzoo-model names:*", cause])
    result.stdout.no_fnmatch_line("*--genzoo-model toygan:*")


def test_tests_that_do_not_use_the_kit_ignore_broken_plugins(pytester, troubled_registry):
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_kit_run_under_strict_plugins_fails_with_the_plugin_error(
        pytester, troubled_registry, monkeypatch):
    troubled_registry.strict = True
    pytester.makepyfile(test_kit_strict=KIT_TEST)
    result = pytester.runpytest("--collect-only", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*model name 'dup' is registered by more than one distribution*"])
    result.stdout.no_fnmatch_line("*genzoo_core?registry.py*")  # the message, not a traceback
