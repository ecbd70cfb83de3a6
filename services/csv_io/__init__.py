"""CSV import and export of credentials: shared column definitions, streamed reading and
writing, and the import engine."""
