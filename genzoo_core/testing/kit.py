"""The conformance kit's runner: every check over a model, as one call or as pytest tests.

:func:`check_model` runs every check of :data:`~genzoo_core.testing.checks.CHECKS`
on one model and returns the outcome of each; :func:`parametrize_with_checks`
(built on :func:`bound_checks`) makes each (model, check) pair its own pytest
test, with known failures as strict expected failures carrying their reason.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from genzoo_core.errors import GenzooError
from genzoo_core.testing.checks import CHECKS, CheckSkipped, KitOptions

__all__ = ["bound_checks", "check_model", "parametrize_with_checks"]


# -- running the checks ----------------------------------------------------------------


def _per_model(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, Mapping) else value


def _options(
    name: str,
    config: Mapping[str, Any] | None,
    conditions: Any,
    train_data: Any,
    registry: Any,
    backend_inexact: Any = None,
) -> KitOptions:
    return KitOptions(
        config=dict((config or {}).get(name, {})),
        conditions=_per_model(conditions, name),
        train_data=_per_model(train_data, name),
        registry=registry,
        backend_inexact=tuple(_per_model(backend_inexact, name) or ()),
    )


def _expected(expected_failed_checks: Any, name: str) -> dict[str, str]:
    if expected_failed_checks is None:
        return {}
    if callable(expected_failed_checks):
        return dict(expected_failed_checks(name) or {})
    return dict(expected_failed_checks.get(name, {}))


def _validate_expected(expected: Mapping[str, str]) -> None:
    known = {check.__name__ for check in CHECKS}
    for check_name, reason in expected.items():
        if check_name not in known:
            raise GenzooError(
                f"expected_failed_checks names '{check_name}', which is not a check; "
                f"the checks are: {', '.join(sorted(known))}"
            )
        if not isinstance(reason, str) or not reason.strip():
            raise GenzooError(f"expected failure of '{check_name}' needs a written reason")


def check_model(
    name: str,
    *,
    config: Mapping[str, Any] | None = None,
    conditions: Callable[[int], Any] | None = None,
    train_data: Callable[[], Any] | None = None,
    expected_failed_checks: Mapping[str, str] | None = None,
    registry: Any = None,
    backend_inexact: Sequence[str] = (),
) -> dict[str, str]:
    """Run every check on model ``name``; raise on the first unexpected failure.

    Args:
        name: the registered model name.
        config: config overrides for the models the checks build.
        conditions: ``n -> condition`` for ``sample`` (see :class:`KitOptions`).
        train_data: returns the data for one train step (see :class:`KitOptions`).
        expected_failed_checks: check name -> the reason it is known to fail.
        registry: where names are looked up (default: the installed plugins).
        backend_inexact: capabilities whose results may differ between Keras
            backends beyond round-off (see :class:`KitOptions`), e.g. ``("sample",)``.

    Returns:
        check name -> ``"passed"``, ``"skipped: reason"`` or ``"failed as expected: reason"``.

    Raises:
        AssertionError: a check failed that was not expected to, or one expected
            to fail passed (remove it from ``expected_failed_checks``).
    """
    expected = dict(expected_failed_checks or {})
    _validate_expected(expected)
    options = KitOptions(dict(config or {}), conditions, train_data, registry,
                         backend_inexact=tuple(backend_inexact))
    outcome: dict[str, str] = {}
    for check in CHECKS:
        reason = expected.get(check.__name__)
        try:
            check(name, options)
        except CheckSkipped as skipped:
            outcome[check.__name__] = f"skipped: {skipped}"
            continue
        except Exception as error:
            if reason is None:
                raise AssertionError(f"{name}: {check.__name__} failed: {error}") from error
            outcome[check.__name__] = f"failed as expected: {reason}"
            continue
        if reason is not None:
            raise AssertionError(
                f"{name}: {check.__name__} passed but is listed as an expected failure "
                f"({reason}); remove it from expected_failed_checks"
            )
        outcome[check.__name__] = "passed"
    return outcome


def _run_check(check: Callable[..., None], options: KitOptions, name: str) -> None:
    import pytest

    try:
        check(name, options)
    except CheckSkipped as skipped:
        pytest.skip(str(skipped))


def bound_checks(
    names: Iterable[str],
    *,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    conditions: Any = None,
    train_data: Any = None,
    expected_failed_checks: Any = None,
    registry: Any = None,
    backend_inexact: Mapping[str, Sequence[str]] | None = None,
) -> list[Any]:
    """``pytest.param(name, check, id=..., marks=...)`` for every model and check."""
    import pytest

    params = []
    for name in names:
        options = _options(name, config, conditions, train_data, registry, backend_inexact)
        expected = _expected(expected_failed_checks, name)
        _validate_expected(expected)
        for check in CHECKS:
            bound = functools.partial(_run_check, check, options)
            functools.update_wrapper(bound, check)
            marks = []
            if check.__name__ in expected:
                marks.append(pytest.mark.xfail(reason=expected[check.__name__], strict=True))
            params.append(pytest.param(name, bound, id=f"{name}-{check.__name__}", marks=marks))
    return params


def parametrize_with_checks(
    models: Iterable[str],
    *,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    conditions: Mapping[str, Callable[[int], Any]] | None = None,
    train_data: Mapping[str, Callable[[], Any]] | None = None,
    expected_failed_checks: Mapping[str, Mapping[str, str]]
    | Callable[[str], Mapping[str, str]]
    | None = None,
    registry: Any = None,
    backend_inexact: Mapping[str, Sequence[str]] | None = None,
) -> Any:
    """A ``pytest.mark.parametrize`` over every (model, check) pair.

    Decorate a test taking ``model`` and ``check``; each check becomes its own
    test, named ``<model>-<check>``::

        @parametrize_with_checks(["mymodel"], config={"mymodel": {"width": 8}})
        def test_genzoo_conformance(model, check):
            check(model)

    Args:
        models: registered model names.
        config: model name -> config overrides (smaller widths make the kit fast).
        conditions: model name -> ``n -> condition`` for ``sample``.
        train_data: model name -> a function returning data for one train step.
        expected_failed_checks: model name -> {check name: reason}, or a function
            of the model name returning that dict. Each becomes a strict xfail
            carrying the reason: it must fail, and says why.
        registry: where names are looked up (default: the installed plugins).
        backend_inexact: model name -> the capabilities whose results may differ
            between Keras backends beyond round-off (``{"mymodel": ("sample",)}``
            for a sampler whose discrete draws may flip; see :class:`KitOptions`).
    """
    import pytest

    params = bound_checks(
        list(models), config=config, conditions=conditions, train_data=train_data,
        expected_failed_checks=expected_failed_checks, registry=registry,
        backend_inexact=backend_inexact,
    )
    return pytest.mark.parametrize(("model", "check"), params)
