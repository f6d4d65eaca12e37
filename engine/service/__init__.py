"""The engine's public API: pages, REST routes and the CLI call these modules."""
