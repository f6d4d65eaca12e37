"""The settings of the console this process serves (set once by `build_console`)."""

from engine.settings import Settings

_current: dict[str, Settings] = {}


def set_console_settings(settings: Settings) -> None:
    _current["settings"] = settings


def console_settings() -> Settings:
    return _current["settings"]
