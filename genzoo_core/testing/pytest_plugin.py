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

Real datasets: when ``GENZOO_DATA`` is unset and a ``shared/data`` folder lies
beside the checkout (next to pytest's rootdir), the plugin points ``GENZOO_DATA``
at it for the session, whether pytest runs over the whole repository, over one
plugin's tests, or in a third-party plugin's own checkout. A test that needs a
file of it asks for it by its path under the folder, and is skipped with the
reason when it is absent::

    def test_trains_on_mnist(genzoo_data):
        genzoo_data("mnist.npz")          # skips unless $GENZOO_DATA/mnist.npz exists

:func:`require_data` does the same where no fixture reaches (a helper function,
a module-scoped fixture).

XLA: a session runs with ``GENZOO_JIT=off`` unless ``GENZOO_JIT`` is set, so
that a test that trains does not first measure the step with and without XLA
(every test has its own, empty cache of decisions); a test of the measurement
passes ``jit_compile="auto"``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

DATA_ENV = "GENZOO_DATA"
JIT_ENV = "GENZOO_JIT"
SHARED_DATA = Path("shared") / "data"
_SET_DATA = pytest.StashKey[bool]()
_SET_JIT = pytest.StashKey[bool]()


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
    """Declare the kit's marker; point an unset ``GENZOO_DATA`` at the shared data folder.

    An unset ``GENZOO_JIT`` becomes ``off``: tests train without measuring XLA first.
    """
    config.addinivalue_line("markers", "genzoo_kit: a genzoo conformance-kit check")
    shared = config.rootpath.parent / SHARED_DATA
    config.stash[_SET_DATA] = not os.environ.get(DATA_ENV) and shared.is_dir()
    if config.stash[_SET_DATA]:  # set for subprocesses too, as `make test` does
        os.environ[DATA_ENV] = str(shared)
    config.stash[_SET_JIT] = not os.environ.get(JIT_ENV)
    if config.stash[_SET_JIT]:
        os.environ[JIT_ENV] = "off"


def pytest_unconfigure(config: pytest.Config) -> None:
    """Unset ``GENZOO_DATA`` and ``GENZOO_JIT`` again if :func:`pytest_configure` set them."""
    if config.stash.get(_SET_DATA, False):
        os.environ.pop(DATA_ENV, None)
    if config.stash.get(_SET_JIT, False):
        os.environ.pop(JIT_ENV, None)


def require_data(relative: str) -> Path:
    """The path ``relative`` under ``$GENZOO_DATA``; skip the calling test when it is absent.

    Args:
        relative: a file or folder under the data folder, e.g. ``"mnist.npz"`` or
            ``"pix2pix/maps/train"``.

    Returns:
        The existing path.
    """
    __tracebackhide__ = True  # a skip reports the test's line, not this one
    value = os.environ.get(DATA_ENV)
    if not value:
        pytest.skip(f"needs {relative} under {DATA_ENV}, which is unset: set {DATA_ENV} to "
                    f"a folder that holds {relative}")
    path = Path(value).expanduser() / relative
    if not path.exists():
        pytest.skip(f"needs {relative} under {DATA_ENV} ({path} does not exist)")
    return path


@pytest.fixture(scope="session")
def genzoo_data() -> Callable[[str], Path]:
    """``genzoo_data(relative) -> Path``: a path under ``$GENZOO_DATA``, else a skip.

    The same as :func:`require_data`, as a fixture, so that a plugin's tests need
    no import::

        def test_loads_the_maps(genzoo_data):
            folder = genzoo_data("pix2pix/maps/train")
    """
    return require_data


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
