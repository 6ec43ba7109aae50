"""Data model: canonical event/spend/identity schemas, column mapping, validation."""
from .schema import EVENT_COLUMNS, SPEND_COLUMNS, TYPED_PROPERTIES, IDENTITY_COLUMNS
from .mapping import map_columns

__all__ = ["EVENT_COLUMNS", "SPEND_COLUMNS", "TYPED_PROPERTIES", "IDENTITY_COLUMNS", "map_columns"]
