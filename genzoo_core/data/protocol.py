"""What the trainer needs of a data source, as a runtime-checkable protocol.

The core's own sources (:class:`~genzoo_core.data.DataSource` and the paired,
unpaired and captioned ones) satisfy :class:`DataSourceProtocol`, and so does any
class a plugin writes with the same members: it needs no core base class. The
trainer, :func:`genzoo_core.train` and the conformance kit recognise a source with
:func:`is_data_source`; anything else they are given is a ``tf.data.Dataset``
or, for ``train``, a dataset name or path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from genzoo_core.errors import DataError

if TYPE_CHECKING:  # the condition enum is only needed for the annotation
    from genzoo_core.spec import Condition


@runtime_checkable
class DataSourceProtocol(Protocol):
    """A finite dataset the trainer can shuffle, batch and iterate, epoch after epoch.

    ``isinstance`` looks at the member names only; the signatures below are the
    contract. A model's ``check_data`` or ``prepare_data`` may ask for more
    (``DataSource``'s ``labels`` and ``num_classes`` for class-conditioned models).
    """

    name: str
    """What the data is called in logs and weight metadata (e.g. ``"mnist:train"``)."""

    def __len__(self) -> int:
        """The number of examples in one epoch."""

    @property
    def condition(self) -> Condition:
        """What the data conditions on (``unconditional``, ``class_label``, ...)."""

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(height, width, channels) of the images the model learns to produce."""

    def dataset(
        self, *, shuffle: bool = False, seed: int | None = None, batch_size: int | None = None
    ) -> Any:
        """A ``tf.data.Dataset`` of dicts of tensors, images float32 in [0, 1].

        With ``shuffle`` the order changes every epoch and ``seed`` makes the
        orders reproducible; with ``batch_size`` it yields full batches only.
        """


MEMBERS = ("name", "__len__", "condition", "image_shape", "dataset")
"""The members :class:`DataSourceProtocol` requires."""

# Members that only a data source has (a tf.data.Dataset has __len__, a path a name):
# an object with one of them and not all is a source with a member missing.
_DISTINCTIVE = ("condition", "image_shape", "dataset")


def _missing(obj: Any) -> list[str]:
    return [member for member in MEMBERS if not hasattr(obj, member)]


def check_data_source(obj: Any) -> DataSourceProtocol:
    """Return ``obj`` when it satisfies :class:`DataSourceProtocol`, else raise a DataError.

    The error names the type and every missing member.
    """
    missing = _missing(obj)
    if missing:
        raise DataError(
            f"{type(obj).__name__} is not a data source: it lacks "
            f"{', '.join(repr(m) for m in missing)}. A data source has {', '.join(MEMBERS)} "
            f"(see genzoo_core.data.DataSourceProtocol); or pass a tf.data.Dataset"
        )
    return obj  # type: ignore[no-any-return]


def is_data_source(obj: Any) -> bool:
    """Whether ``obj`` is a data source; an incomplete one is a DataError naming what it lacks.

    ``False`` for objects with none of a source's distinctive members
    (``condition``, ``image_shape``, ``dataset``), such as a ``tf.data.Dataset``
    or a path.
    """
    if isinstance(obj, DataSourceProtocol):
        return True
    if any(hasattr(obj, member) for member in _DISTINCTIVE):
        check_data_source(obj)
    return False
