"""The session's model service: the weights file is read once, whoever asks and from which thread;
what the weights' provenance says reaches the person, also when it is damaged."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from tsfgui.model.weights import WeightsError
from tsfgui.resources import DEMO_WEIGHTS
from tsfgui.session import ModelService, weights_warning


def test_the_weights_are_read_once_whatever_the_threads_ask(tiny_weights):
    service = ModelService(tiny_weights)
    assert service.loads == 0 and not service.loaded and service.class_names == ()
    got = []
    threads = [threading.Thread(target=lambda: got.append(service.get())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert service.loads == 1 and len({id(m) for m in got}) == 1
    assert service.get() is got[0] and not got[0].training
    assert service.class_names == ("negative", "positive", "surprise") and "megc3" in service.describe()
    assert ModelService(None).get() is None and "no model" in ModelService(None).describe()


def test_a_bad_weights_file_is_refused_every_time_but_read_once(tmp_path):
    bad = tmp_path / "broken.safetensors"
    bad.write_text("not weights")
    service = ModelService(bad)
    for _ in range(2):
        with pytest.raises(WeightsError, match="broken.safetensors"):
            service.get()
    assert service.loads == 1


def _with_provenance(path, text):
    from safetensors.torch import load_file, save_file
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = dict(f.metadata())
    meta["provenance"] = text
    return save_file(load_file(str(path)), str(path), metadata=meta)


def test_demo_and_damaged_provenance_are_said_not_dropped(tiny_weights, tmp_path):
    assert "demonstration" in weights_warning(DEMO_WEIGHTS) or "synthetic" in weights_warning(DEMO_WEIGHTS).lower()
    assert weights_warning(tiny_weights) is None
    damaged = tmp_path / "damaged.safetensors"
    damaged.write_bytes(Path(tiny_weights).read_bytes())
    _with_provenance(damaged, '{"synthetic": true, "warning": "demo only"')  # cut short
    warning = ModelService(damaged).warning()
    assert "damaged.safetensors" in warning and "damaged" in warning and "unknown" in warning
    _with_provenance(damaged, json.dumps(["not", "an", "object"]))
    assert "damaged" in weights_warning(damaged)
