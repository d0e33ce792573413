"""Undo and redo over the project's history: one QUndoCommand per project change."""

from __future__ import annotations

from typing import Callable

from PySide6.QtGui import QUndoCommand

from tsfgui.project import Change, Project


class ChangeCommand(QUndoCommand):
    """A change already written to the project. Undo reverts it (:meth:`Project.revert`), redo reapplies
    it (:meth:`Project.reapply`); both are new entries of the project's append-only history.

    ``after`` runs after every undo/redo (the window refreshes its view); ``on_error`` gets the message
    when the project refuses (e.g. another instance changed the same coder's history meanwhile).
    """

    def __init__(self, project: Project, change: Change, after: Callable[[], None],
                 on_error: Callable[[str], None]):
        super().__init__(change.description)
        self.project = project
        self.change_id = change.id
        self._after = after
        self._on_error = on_error
        self._applied = True  # pushed after the change was written: the first redo does nothing

    def redo(self) -> None:
        if self._applied:
            return
        self._run(self.project.reapply)
        self._applied = True

    def undo(self) -> None:
        self._run(self.project.revert)
        self._applied = False

    def _run(self, action: Callable[[int], Change]) -> None:
        from tsfgui.project import ProjectError

        try:
            action(self.change_id)
        except ProjectError as exc:
            self._on_error(str(exc))
        self._after()
