"""The SQLite backend of the embedded default (DATABASE_URL unset): see `base`."""
