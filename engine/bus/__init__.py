"""The event bus: in-process by default, Redis pub/sub across processes."""
