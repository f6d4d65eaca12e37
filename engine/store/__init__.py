"""Records: the database and its schema, status transitions, status counts, artifact files."""
