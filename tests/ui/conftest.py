"""UI test fixtures: a private results cache per test, no thread left running after a test, and main
windows that are closed (with their workers stopped) at the end of a test."""

from __future__ import annotations

import threading

import pytest


@pytest.fixture(autouse=True)
def private_results_cache(tmp_path, monkeypatch):
    """Each test analyses afresh and never touches the user's cache."""
    monkeypatch.setenv("TSFGUI_CACHE_DIR", str(tmp_path / "results-cache"))
    monkeypatch.setenv("TSFGUI_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture(autouse=True)
def collect_on_the_gui_thread(qapp):
    """As in the app: cyclic garbage (Qt objects of earlier tests included) is collected on the GUI
    thread only, never by an analysis thread that happens to allocate."""
    from tsfgui.ui.gui_gc import GuiThreadCollector

    collector = GuiThreadCollector()
    yield collector
    collector.stop()
    collector.deleteLater()


@pytest.fixture(autouse=True)
def no_leaked_threads(qapp, collect_on_the_gui_thread):
    """Fail a test that leaves a worker running (pool workers or Python threads it started)."""
    from PySide6.QtCore import QThreadPool

    before = set(threading.enumerate())
    yield
    pool = QThreadPool.globalInstance()
    pool.waitForDone(10_000)
    assert pool.activeThreadCount() == 0, "a test left a QThreadPool worker running"
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive() and not t.daemon]
    assert not leaked, f"a test left threads running: {leaked}"
    from tsfgui.ui import threads

    running = [(t, type(w).__name__) for t, w in threads._threads if not t.wait(10_000)]
    assert not running, f"a test left QThread workers running: {[name for _, name in running]}"


@pytest.fixture
def window(qtbot):
    """``window(target, ...)`` makes a MainWindow; all are closed after the test and must leave no worker."""
    from PySide6.QtCore import QThreadPool

    from tsfgui.ui.main_window import MainWindow

    windows = []

    def close(w) -> None:  # the window closes once every worker has ended (waited for off the GUI thread)
        w.close()
        qtbot.waitUntil(lambda: w.workers_ended and not w.session.busy, timeout=60_000)
        assert all(thread.isFinished() for thread in w.inspector.threads + w.reader_threads)

    def make(*args, **kwargs):
        w = MainWindow(*args, **kwargs)
        qtbot.addWidget(w, before_close_func=close)  # pytest-qt closes its widgets before fixtures end
        windows.append(w)
        return w

    yield make
    for w in windows:
        assert w.workers_ended and not w.session.busy
    assert QThreadPool.globalInstance().activeThreadCount() == 0, "closing must stop the analysis worker"
