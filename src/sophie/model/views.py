"""Views: the objects rules read, one class per entity type.

A view carries a record's stored fields as plain attributes plus the relations and
derived values of :mod:`sophie.model.fields`, so that a compiled rule reads
``plan.patient.first_name`` as three attribute loads. Views are built by
:class:`~sophie.model.index.SnapshotIndex` and must be treated as read-only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

from sophie.errors import ForbiddenAttributeError
from sophie.model.fields import ENTITY_TYPES, READABLE_NAMES, RECORD_TYPES

__all__ = ["VIEW_CLASSES", "View", "read_attribute", "view_of"]


class View:
    """Base of the per-entity view classes.

    Attributes:
        record: The validated record behind the view (``None`` for openings).
    """

    __slots__ = ("__weakref__", "record")
    record: BaseModel | None
    entity_type: ClassVar[str] = ""
    field_names: ClassVar[tuple[str, ...]] = ()

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            """Fields and derived values are set per entity type."""

        def __setattr__(self, name: str, value: Any) -> None:
            """Only the index sets attributes, while it builds the views."""

    def __repr__(self) -> str:
        key = "id" if "id" in type(self).__slots__ else "patient_id"
        return f"<{self.entity_type} {getattr(self, key, '?')}>"


def _view_class(entity: str) -> type[View]:
    model = RECORD_TYPES.get(entity)
    stored = tuple(model.model_fields) if model is not None else ()
    derived = tuple(name for name in ENTITY_TYPES[entity] if name not in stored)
    class_name = "".join(part.title() for part in entity.split("_")) + "View"
    namespace = {
        "__slots__": stored + derived,
        "entity_type": entity,
        "field_names": stored,
        "__module__": __name__,
        "__doc__": f"The {entity.replace('_', ' ')} as rules see it.",
    }
    return type(class_name, (View,), namespace)


VIEW_CLASSES: dict[str, type[View]] = {entity: _view_class(entity) for entity in ENTITY_TYPES}
"""Entity type name -> its view class."""


def view_of(entity: str, record: BaseModel) -> View:
    """Return a new view of ``record`` with its stored fields copied in.

    Relations and derived values are left unset; the index fills them.
    """
    view = VIEW_CLASSES[entity].__new__(VIEW_CLASSES[entity])
    view.record = record
    values = record.__dict__
    for name in view.field_names:
        setattr(view, name, values[name])
    return view


def read_attribute(value: object, name: str) -> object:
    """Return a declared field or derived value of a view; refuse every other name.

    The entity type is the one of the value itself, not the one a checker inferred, so a
    field of another entity type is refused as well.

    Raises:
        ForbiddenAttributeError: If ``value`` is not a view or ``name`` is not one of its
            entity type's readable names.
    """
    entity = value.entity_type if isinstance(value, View) else ""
    if name not in READABLE_NAMES.get(entity, ()):
        raise ForbiddenAttributeError(entity, name)
    return getattr(value, name)


def _check_no_name_shadows_the_view() -> None:
    """Fail at import if a readable name could reach an attribute views have of their own."""
    own = set(dir(View))
    for entity, names in READABLE_NAMES.items():
        clash = own & names
        if clash:
            raise AssertionError(f"{entity} declares {sorted(clash)}, which views use themselves")


_check_no_name_shadows_the_view()
