"""Terminal commands (`python main.py ...`): each calls the engine's public API."""
