"""The conformance kit as a pytest plugin (entry point ``pytest11``: ``genzoo``).

Installed with genzoo-core, it is active in every pytest run and does nothing
until a test asks for its fixtures. A test taking ``genzoo_model`` and
``genzoo_check`` runs once per installed model and check::

    def test_kit(genzoo_model, genzoo_check):
        genzoo_check(genzoo_model)

``pytest --genzoo-model NAME`` (repeatable) limits it to the named models; the
``genzoo_kit_options`` fixture, which a project may override, gives each model
its :class:`~genzoo_core.testing.KitOptions`. Each
such test sees a temporary ``GENZOO_HOME`` shared by the session, so
downloaded weights land there, not in the user's cache. Loading this module
imports neither TensorFlow nor Keras.

A kit run never passes while a model it should check is missing. Without
``--genzoo-model``, an installed plugin that failed to load (or is
incompatible) and a name two distributions register make the kit tests a
collection error whose message names each plugin with its error and each
conflict. With ``--genzoo-model NAME``, only the named models count: one that
is missing, because its plugin failed, its name is claimed twice or it is not
installed, is a collection error naming the cause; problems elsewhere are left
to ``genzoo plugins``. Tests that do not use the kit's fixtures are unaffected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--genzoo-model``."""
    group = parser.getgroup("genzoo", "genzoo conformance kit")
    group.addoption(
        "--genzoo-model",
        action="append",
        default=[],
        metavar="NAME",
        help="run the genzoo_check tests for this model only (repeatable; default: all "
        "installed models)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker the kit's tests carry."""
    config.addinivalue_line("markers", "genzoo_kit: a genzoo conformance-kit check")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize tests using ``genzoo_model`` and ``genzoo_check`` over models x checks."""
    if not {"genzoo_model", "genzoo_check"} <= set(metafunc.fixturenames):
        return
    from genzoo_core.errors import GenzooError
    from genzoo_core.registry import default_registry
    from genzoo_core.testing import CHECKS

    chosen = list(dict.fromkeys(metafunc.config.getoption("genzoo_model")))
    registry = default_registry()
    try:
        problems = _problems(registry, chosen)
        names = chosen or sorted(registry.models)
    except GenzooError as error:  # strict plugins: the first problem is raised
        pytest.fail(f"the genzoo conformance kit cannot load the plugins: {error}",
                    pytrace=False)
    if problems:
        # a collection error, not skipped tests: a green run must mean every model was checked
        what = "the models --genzoo-model names" if chosen else "every installed model"
        advice = (
            "Fix or uninstall the plugins named, or pass only installed model names."
            if chosen else
            "Fix or uninstall these plugins, or run only the models you mean with "
            "--genzoo-model NAME."
        )
        lines = "\n".join(f"  - {problem}" for problem in problems)
        pytest.fail(f"the genzoo conformance kit cannot check {what}:\n{lines}\n{advice}",
                    pytrace=False)
    metafunc.parametrize(
        ("genzoo_model", "genzoo_check"),
        [(name, check) for name in names for check in CHECKS],
        ids=[f"{name}-{check.__name__}" for name in names for check in CHECKS],
        indirect=True,
    )


def _problems(registry: Any, chosen: list[str]) -> list[str]:
    """What would leave a model out of this kit run: one line per problem.

    With ``chosen`` (the ``--genzoo-model`` names), why each named model cannot be
    looked up; without, every plugin that was refused and every name conflict.
    """
    from genzoo_core.errors import GenzooError

    if chosen:
        problems = []
        for name in chosen:
            try:
                registry.get_model(name)
            except GenzooError as error:
                problems.append(f"--genzoo-model {name}: {error}")
        return problems
    failed = [f"plugin {record.summary()}" for record in registry.plugins
              if record.status != "ok"]
    return failed + [str(error) for error in registry.conflicts.values()]


@pytest.fixture(scope="session")
def genzoo_kit_home(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A temporary ``GENZOO_HOME`` for the session's kit checks."""
    return tmp_path_factory.mktemp("genzoo-home")


@pytest.fixture
def genzoo_kit_options() -> Callable[[str], Any]:
    """``model name -> KitOptions``: how the kit builds, conditions and trains each model.

    The default gives every model ``KitOptions()``. Override this fixture (in a
    ``conftest.py`` or the test module) for a model the kit cannot feed by
    itself, e.g. a text-to-image model that needs captions in its vocabulary::

        @pytest.fixture
        def genzoo_kit_options():
            from genzoo_core.testing import KitOptions
            mine = KitOptions(train_data=my_captions)
            return lambda name: mine if name == "mine" else KitOptions()
    """
    from genzoo_core.testing import KitOptions

    return lambda name: KitOptions()


@pytest.fixture
def genzoo_check(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    genzoo_kit_home: Any,
    genzoo_kit_options: Callable[[str], Any],
) -> Any:
    """The check for this test, as ``check(model_name)``, under a temporary GENZOO_HOME."""
    from genzoo_core.testing import _run_check

    request.node.add_marker(pytest.mark.genzoo_kit)
    monkeypatch.setenv("GENZOO_HOME", str(genzoo_kit_home))
    check = request.param
    return lambda name: _run_check(check, genzoo_kit_options(name), name)


@pytest.fixture
def genzoo_model(request: pytest.FixtureRequest) -> str:
    """The model name for this test (parametrized by the plugin)."""
    return request.param
