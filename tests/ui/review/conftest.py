"""A project with the bundled sample analysed once per test session (the real analysis, demo weights);
each test reviews its own copy."""

from __future__ import annotations

import shutil

import pytest

from tsfgui.project import Project
from tsfgui.project.analysis import analyze_project
from tsfgui.resources import SAMPLE_VIDEO, default_weights


@pytest.fixture(scope="session")
def analysed_sample_project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("analysed-project")
    with Project.create(folder / "study.tsfproj") as project:
        project.add_recordings([SAMPLE_VIDEO])
        report = analyze_project(project, weights=default_weights(), show_progress=False)
        assert report.analysed and not report.failed
    return folder / "study.tsfproj"


@pytest.fixture
def sample_project(analysed_sample_project, tmp_path):
    """A copy of the analysed sample project (the recording stays where it is)."""
    target = tmp_path / "study.tsfproj"
    shutil.copy(analysed_sample_project, target)
    return target
