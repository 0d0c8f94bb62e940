"""Model instances built from some of their fields (a RETURNING row, a cached copy)."""

from __future__ import annotations

from typing import Any

from django.db import connection


def partial_instance(model, values: dict[str, Any]):
    """An instance of `model` with these fields (by attname, already Python values); the
    others are deferred and load from the database if read. (Model.from_db takes the values
    in the model's field order, whatever order they came in.)"""
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(connection.alias, names, [values[n] for n in names])


# (model, field) -> its column and the converters the ORM applies to what it reads of it; the
# same for every read in a process (one database backend).
_converters: dict[tuple[Any, Any], tuple[Any, list]] = {}


def _reading(model, field) -> tuple[Any, list]:
    known = _converters.get((model, field))
    if known is None:
        column = field.get_col(model._meta.db_table)
        known = _converters[(model, field)] = (
            column, connection.ops.get_db_converters(column)
            + column.get_db_converters(connection))
    return known


def instance_from_row(model, fields: list, row) -> Any:
    """An instance of `model` from a raw row of `fields` (as RETURNING gives it), converted as
    the ORM converts what it reads."""
    values = {}
    for field, value in zip(fields, row):
        column, converters = _reading(model, field)
        for convert in converters:
            value = convert(value, column, connection)
        values[field.attname] = value
    return partial_instance(model, values)
