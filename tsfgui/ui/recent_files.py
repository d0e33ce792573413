"""Recent files (kept in the app's settings file) and opening by drag-and-drop, for the main window."""

from __future__ import annotations


class RecentFilesMixin:
    """Needs ``open(path, fps=)``, ``_fps`` and a ``recent_menu`` (created by the main window)."""

    # --- settings: recent files ---------------------------------------------------------------
    @staticmethod
    def settings():
        """The app's settings file (``$TSFGUI_CONFIG_DIR/tsfgui.ini`` or the platform's config folder)."""
        import os

        from PySide6.QtCore import QSettings, QStandardPaths

        folder = os.environ.get("TSFGUI_CONFIG_DIR") or QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.GenericConfigLocation) + "/tsfgui"
        return QSettings(f"{folder}/tsfgui.ini", QSettings.Format.IniFormat)

    def recent_files(self) -> list[str]:
        value = self.settings().value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _remember_recent(self, target: str) -> None:
        from pathlib import Path

        path = str(Path(target).resolve())
        recent = [path] + [p for p in self.recent_files() if p != path]
        settings = self.settings()
        settings.setValue("recent", recent[:10])
        settings.sync()
        self._fill_recent_menu()

    def _fill_recent_menu(self) -> None:
        from pathlib import Path

        self.recent_menu.clear()
        for path in self.recent_files():
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda checked=False, p=path: self.open(p, fps=self._fps))
        self.recent_menu.setEnabled(bool(self.recent_files()))

    # --- drag and drop ---------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        if event.mimeData().hasUrls() and any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        files = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if files:
            event.acceptProposedAction()
            self.open(files[0], fps=self._fps)
