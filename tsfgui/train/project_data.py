"""A project's reviewed events as a training set (``tsfgui train --dataset project --root P.tsfproj --coder A``).

Every event a coder accepted, corrected or added becomes one sample: its onset/apex/offset frames and its
label (mapped to the label scheme as the datasets' emotion words are). The subject is the recording's
subject field, so leave-one-subject-out and hold-out splits keep a person's recordings together. The
frames the crop cache needs (onset − jitter … offset + jitter) are read from the recording once and kept
as PNG files (lossless) in a frame folder per event under the cache, named by the recording's content
fingerprint, so the rest of training is the same as for the published datasets.
"""

from __future__ import annotations

from pathlib import Path

import cv2

from tsfgui.io import SourceError, open_source
from tsfgui.io.atomic import atomic_path
from tsfgui.project import FINAL_STATUSES, Project, ProjectError
from tsfgui.train.datasets import SCHEME_MAPS, Dataset, DatasetError, DatasetReport, Sample, class_index

#: Label schemes a project can be trained with (its labels are the model's class names or emotion words).
PROJECT_SCHEMES = tuple(SCHEME_MAPS)


def _frames(source, first: int, last: int, folder: Path) -> None:
    """Frames ``first``…``last`` of ``source`` as ``folder/<index>.png`` (those already there are kept)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(first, last + 1):
        target = folder / f"{i:06d}.png"
        if target.is_file():
            continue
        image = source.read(i).image
        with atomic_path(target, suffix=".png") as tmp:
            if not cv2.imwrite(str(tmp), image):
                raise SourceError(f"frame {i} could not be written to '{target}'")


def load_project_dataset(path: str | Path, coder: str, scheme: str = "megc3", *, frames_dir: str | Path,
                         jitter: int = 2) -> Dataset:
    """The accepted, edited and added events of ``coder`` in the project at ``path`` as a :class:`Dataset`."""
    if scheme not in SCHEME_MAPS:
        raise DatasetError(f"label scheme '{scheme}' is unknown; choose one of {', '.join(PROJECT_SCHEMES)}")
    try:
        project = Project.open(path, read_only=True)
    except ProjectError as exc:
        raise DatasetError(str(exc)) from None
    report = DatasetReport("project", scheme)
    samples: list[Sample] = []
    with project:
        try:
            project.coder(coder, create=False)
        except ProjectError as exc:
            raise DatasetError(str(exc)) from None
        for rec in project.recordings():
            events = [e for e in project.events(rec.id, coder) if e.status in FINAL_STATUSES]
            if not events:
                continue
            if not rec.exists:
                for e in events:
                    report.rows += 1
                    report.skip(0, rec.location, "recording not found (moved? tsfgui project relink)")
                continue
            try:
                with open_source(rec.location, fps=rec.fps) as source:
                    count = len(source)
                    for e in events:
                        report.rows += 1
                        where = f"{rec.name} frames {e.onset}-{e.offset}"
                        if not e.label:
                            report.skip(0, where, "event has no label")
                            continue
                        label = class_index(scheme, e.label)
                        if label is None:
                            word = e.label.lower()
                            report.dropped_by_scheme[word] = report.dropped_by_scheme.get(word, 0) + 1
                            continue
                        folder = Path(frames_dir) / rec.fingerprint / f"{e.onset}-{e.apex}-{e.offset}"
                        _frames(source, max(0, e.onset - jitter), min(count - 1, e.offset + jitter), folder)
                        report.samples += 1
                        samples.append(Sample("project", rec.subject, f"{rec.name}@{e.onset}", folder, e.onset,
                                              e.apex, e.offset, e.label.lower(), label, 0, e.aus))
            except SourceError as exc:
                report.skip(0, rec.location, f"cannot be read: {exc}")
    return Dataset("project", scheme, samples, report)
