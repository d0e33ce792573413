"""Dataset adapters on synthetic copies written in exactly each real layout (sheets via openpyxl)."""

from __future__ import annotations

import openpyxl
import pytest

from tsfgui.model import get_label_scheme
from tsfgui.train import DatasetError, load_dataset, load_megc2019
from tsfgui.train.synthetic import CASME2_HEADER, SAMM_HEADER


def _good(info):
    """Records of clips the adapter must keep (not one of the planted bad rows, except the non-numeric apex)."""
    bad = {v for k, v in info.bad_rows.items() if k != "non_numeric_apex"}
    first = {"casme2": 2, "samm": 15, "casme3a": 2, "smic": 0}[info.layout]
    return [r for i, r in enumerate(info.rows) if i + first not in bad]


def _check_bad_rows(ds, info):
    skipped = {s.row: s for s in ds.report.skipped}
    assert set(skipped) == {info.bad_rows[k] for k in ("missing_folder", "missing_apex", "unreadable_image")}
    assert "clip folder not found" in skipped[info.bad_rows["missing_folder"]].reason
    assert "missing" in skipped[info.bad_rows["missing_apex"]].reason
    unreadable = skipped[info.bad_rows["unreadable_image"]]
    assert "not a readable image" in unreadable.reason and unreadable.path
    assert ds.report.to_dict()["skipped"] == 3
    estimated = [s for s in ds.samples if s.apex is None]
    assert [s.row for s in estimated] == [info.bad_rows["non_numeric_apex"]]


def test_casme2_layout_is_read_by_column_name(casme2_set):
    ds = load_dataset("casme2", casme2_set.root, "megc3")
    assert ds.subjects == ["sub01", "sub02", "sub03"]
    names = get_label_scheme("megc3").class_names
    good = _good(casme2_set)
    assert len(ds.samples) == len(good)
    assert sorted((s.clip, names[s.label]) for s in ds.samples) == sorted((r["filename"], r["class"]) for r in good)
    assert all(s.folder.parent.parent.name == "CASME2_RAW_selected" for s in ds.samples)
    _check_bad_rows(ds, casme2_set)


def test_a_synthetic_clip_keeps_its_class_from_the_generator_to_the_saved_model(casme2_set, tmp_path):
    """Generator event type → sheet emotion word → dataset label index → the trained model's class name (also
    after saving and loading): a class-order mix-up anywhere would rename a class silently."""
    from tsfgui.model import TSFmicro, load_model
    from tsfgui.samples import CLASSES, EVENT_TYPES
    from tsfgui.train import model_config

    ds = load_dataset("casme2", casme2_set.root, "megc3")
    path = TSFmicro(model_config("megc3", "tiny")).save_pretrained(tmp_path / "w.safetensors")
    names = load_model(path).class_names
    assert tuple(names) == tuple(ds.class_names) == tuple(CLASSES)
    event_of = {r["filename"]: r["event"] for r in _good(casme2_set)}
    assert len(event_of) == len(ds.samples) and {names[s.label] for s in ds.samples} == set(CLASSES)
    assert all(names[s.label] == EVENT_TYPES[event_of[s.clip]].label for s in ds.samples)


def test_casme2_columns_in_another_order_give_the_same_samples(casme2_set, tmp_path):
    wb = openpyxl.load_workbook(casme2_set.sheet)
    rows = list(wb.active.iter_rows(values_only=True))
    order = [6, 0, 4, 2, 1, 5, 3]
    out = openpyxl.Workbook()
    out.active.append(["Unnamed: 0", *[rows[0][i] for i in order]])
    for r in rows[1:]:
        out.active.append(["x", *[r[i] for i in order]])
    path = tmp_path / "CASME2-coding-shuffled.xlsx"
    out.save(path)
    a = load_dataset("casme2", casme2_set.root, "megc3")
    b = load_dataset("casme2", casme2_set.root, "megc3", annotations=path)
    assert [(s.key, s.onset, s.apex, s.offset, s.label) for s in a.samples] == \
           [(s.key, s.onset, s.apex, s.offset, s.label) for s in b.samples]


def test_casme2_five_classes_keep_the_dataset_words(casme2_set):
    ds = load_dataset("casme2", casme2_set.root)  # default casme2_5
    assert ds.scheme == "casme2_5"
    words = {s.emotion for s in ds.samples}
    assert words <= {"happiness", "repression", "disgust", "surprise", "others"} and "happiness" in words
    for s in ds.samples:
        assert ds.class_names[s.label] == s.emotion


def test_samm_layout_with_preamble_and_mixed_padding(samm_set):
    ws = openpyxl.load_workbook(samm_set.sheet).active
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[13][:len(SAMM_HEADER)]) == SAMM_HEADER  # 13 preamble rows, then the header
    ds = load_dataset("samm", samm_set.root, "megc3")
    assert ds.subjects == ["001", "002"]
    padded = {len(p.stem.split("_")[1]) for s in ds.samples for p in s.folder.iterdir()}
    assert padded == {4, 5}  # subject 002 is written with 4-digit numbers: found by integer
    assert len(ds.samples) == len(_good(samm_set))
    _check_bad_rows(ds, samm_set)


def test_samm_five_classes_drop_words_outside_the_scheme(samm_set):
    ds = load_dataset("samm", samm_set.root, "samm5")
    assert ds.class_names == ("anger", "contempt", "happiness", "surprise", "others")
    assert ds.report.dropped_by_scheme.get("disgust", 0) >= 1
    assert "disgust" not in {s.emotion for s in ds.samples}


def test_casme3_part_a_layout_and_schemes(casme3_set):
    four = load_dataset("casme3a", casme3_set.root)
    seven = load_dataset("casme3a", casme3_set.root, "casme3_7")
    assert four.subjects == ["spNO.1", "spNO.2"]
    assert [s.key for s in four.samples] == [s.key for s in seven.samples]
    for a, b in zip(four.samples, seven.samples):
        if a.emotion == "happiness":
            assert four.class_names[a.label] == "positive" and seven.class_names[b.label] == "happiness"
        if a.emotion in ("anger", "disgust", "fear", "sadness"):
            assert four.class_names[a.label] == "negative" and seven.class_names[b.label] == a.emotion
    _check_bad_rows(four, casme3_set)


def test_megc2019_composite_prefixes_subjects_and_uses_three_classes(casme2_set, samm_set, smic_set):
    ds = load_megc2019(casme2_set.root, samm_set.root, smic_set.root)
    assert ds.class_names == ("negative", "positive", "surprise")
    prefixes = {s.subject.split("_")[0] for s in ds.samples}
    assert prefixes == {"casme2", "samm", "smic"}
    assert ds.report.to_dict()["skipped"] == 6  # 3 planted bad rows in each sheet
    smic = [s for s in ds.samples if s.dataset == "smic"]
    assert len(smic) == 6 and all(s.apex is None for s in smic)


def test_wrong_scheme_and_missing_sheet_are_clear_errors(casme2_set, tmp_path):
    with pytest.raises(DatasetError, match="does not apply"):
        load_dataset("casme2", casme2_set.root, "samm5")
    with pytest.raises(DatasetError, match="annotation sheet"):
        load_dataset("samm", tmp_path)
    bad = tmp_path / "CASME2-coding-bad.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append([h for h in CASME2_HEADER if h != "OnsetFrame"])
    wb.save(bad)
    with pytest.raises(DatasetError, match="OnsetFrame"):
        load_dataset("casme2", casme2_set.root, annotations=bad)


def test_casme2_cropped_variant(tmp_path):
    from tsfgui.train.synthetic import write_synthetic

    info = write_synthetic("casme2", tmp_path, subjects=1, clips_per_subject=2, seed=9, size=(160, 160), cropped=True)
    ds = load_dataset("casme2", tmp_path, "megc3", cropped=True)
    assert len(ds.samples) == 2 and not ds.report.skipped
    assert all(s.folder.parent.parent.name == "Cropped" for s in ds.samples)
    assert all(p.name.startswith("reg_img") for s in ds.samples for p in s.folder.iterdir())
    assert load_dataset("casme2", tmp_path, "megc3").samples[0].folder == ds.samples[0].folder  # found without the flag
    assert info.clips == 2


def test_negative_vocabulary_without_the_dimpler_keeps_the_other_classes(tmp_path):
    import pytest

    from tsfgui.train.synthetic import NEGATIVE_VOCABULARIES, write_synthetic

    kw = dict(subjects=1, clips_per_subject=15, seed=3, size=(96, 96))
    plain = write_synthetic("casme2", tmp_path / "a", **kw)
    swapped = write_synthetic("casme2", tmp_path / "b", negatives="no-dimpler", **kw)
    neg = lambda info: [r["event"] for r in info.rows if r["class"] == "negative"]  # noqa: E731
    assert neg(plain) == list(NEGATIVE_VOCABULARIES["default"][:5]) and "AU14" in neg(plain)
    assert neg(swapped) == list(NEGATIVE_VOCABULARIES["no-dimpler"][:5]) and "AU14" not in neg(swapped)
    assert "AU15+AU17" in neg(swapped)
    # positives and surprises, their clips and their frames are the same in both sets
    for r, q in zip(plain.rows, swapped.rows):
        assert r["class"] == q["class"]
        if r["class"] != "negative":
            assert r["event"] == q["event"]
            folder = lambda root, rec: root / "CASME2_RAW_selected" / rec["subject_id"] / rec["filename"]  # noqa: E731
            frames = sorted(p.name for p in folder(tmp_path / "a", r).iterdir())
            assert frames == sorted(p.name for p in folder(tmp_path / "b", q).iterdir())
            assert (folder(tmp_path / "a", r) / frames[2]).read_bytes() == (folder(tmp_path / "b", q) / frames[2]).read_bytes()
    with pytest.raises(ValueError, match="no-dimpler"):
        write_synthetic("casme2", tmp_path / "c", negatives="calm", **kw)
