"""Recent files, kept in the app's settings file, in an "Open recent" menu."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtWidgets import QMenu


def settings() -> QSettings:
    """The app's settings file (``$TSFGUI_CONFIG_DIR/tsfgui.ini`` or the platform's config folder)."""
    folder = os.environ.get("TSFGUI_CONFIG_DIR") or QStandardPaths.writableLocation(
        QStandardPaths.StandardLocation.GenericConfigLocation) + "/tsfgui"
    return QSettings(f"{folder}/tsfgui.ini", QSettings.Format.IniFormat)


class RecentFiles:
    """The ten files opened last (newest first) under ``key`` of the settings, listed in ``menu``;
    choosing one calls ``open_path(path)``."""

    def __init__(self, menu: QMenu, open_path: Callable[[str], None], key: str = "recent"):
        self.menu, self.open_path, self.key = menu, open_path, key
        self.fill_menu()

    def paths(self) -> list[str]:
        value = settings().value(self.key, [])
        return [value] if isinstance(value, str) else list(value or [])

    def remember(self, target: str | os.PathLike) -> None:
        path = str(Path(target).resolve())
        recent = [path] + [p for p in self.paths() if p != path]
        s = settings()
        s.setValue(self.key, recent[:10])
        s.sync()
        self.fill_menu()

    def fill_menu(self) -> None:
        self.menu.clear()
        paths = self.paths()
        for path in paths:
            action = self.menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda checked=False, p=path: self.open_path(p))
        self.menu.setEnabled(bool(paths))
