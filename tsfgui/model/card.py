"""One sentence that says what a weights file is: configuration, data, held-out figures (from its metadata).

The app's warning banner, ``tsfgui --selftest`` and the model card all use :func:`weights_summary`, so they
cannot disagree about the shipped weights.
"""

from __future__ import annotations

from typing import Any, Mapping

from .config import TSFmicroConfig

PAPER = TSFmicroConfig()


def configuration_name(config: TSFmicroConfig) -> str:
    """``the paper's full network`` or e.g. ``a reduced configuration (embed dims 8/16/64/128, 96 px)``."""
    same = config.replace(label_scheme=PAPER.label_scheme, class_names=PAPER.class_names)
    if same == PAPER:
        return "the paper's full network (224 px)"
    dims = "/".join(str(d) for d in config.embed_dims)
    return f"a reduced configuration, not the paper's network (embed dims {dims}, {config.img_size} px input)"


def subject_faces(provenance: Mapping[str, Any]) -> dict[str, str]:
    """Subject id → face photo of a synthetic set made with one subject per face (``subNN`` is face NN)."""
    faces = (provenance.get("synthetic_set") or {}).get("faces")
    if not faces:
        return {}
    if faces == "all":
        from tsfgui.samples.faces import face_names

        names = face_names()
    else:
        names = [n.strip() for n in str(faces).split(",") if n.strip()]
    return {f"sub{i:02d}": n for i, n in enumerate(names, start=1)}


def weights_summary(config: TSFmicroConfig, provenance: Mapping[str, Any] | None, parameters: int) -> str:
    """What the weights are, in one sentence (configuration, parameters, data, held-out figures)."""
    prov = dict(provenance or {})
    parts = [f"TSFmicro {config.label_scheme} in {configuration_name(config)}, {parameters:,} parameters"]
    data = prov.get("synthetic_set") or {}
    if prov.get("synthetic"):
        faces = data.get("faces")
        motion = data.get("motion", "landmarks")
        what = {"rig": "the ICT-FaceKit rig", "landmarks": "landmark warps",
                "mixed": "the ICT-FaceKit rig and landmark warps"}.get(motion, motion)
        by_subject = subject_faces(prov)
        trained_faces = [by_subject[s] for s in prov.get("train_subjects", []) if s in by_subject]
        on = (f"{len(trained_faces)} public-domain face photos ({', '.join(trained_faces)})" if trained_faces
              else f"face photos {faces}" if faces else "one face photo")
        parts.append(f"trained on synthetic AU motion from {what} on {on}")
    elif prov.get("dataset"):
        parts.append(f"trained on {prov['dataset']}")
    held = prov.get("heldout_metrics")
    faces = subject_faces(prov)
    held_out = list(prov.get("test_subjects", []))
    if held and held_out:
        kind = "face" if faces and all(s in faces for s in held_out) else "subject"
        names = [faces.get(s, s) for s in held_out]
        parts.append(f"on the held-out {kind}{'s' if len(names) > 1 else ''} {', '.join(names)} "
                     f"(never trained on): UAR {held['uar']:.2f}, accuracy {held['accuracy']:.2f}")
    return "; ".join(parts)


_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")

DEMO_NOTICE = "These weights were not validated on real micro-expression data; for demonstration only."


def describe_weights_file(path: str) -> tuple[str, str | None]:
    """``(summary, warning)`` of a tsfgui weights file from its header and metadata (no tensor is read).

    The warning is the provenance's own (or a generic one for synthetic or unvalidated weights), after the
    summary, so the banner says what the weights are and why to distrust them; ``None`` when there is none.
    """
    import json

    from safetensors import safe_open

    from .weights import FORMAT, read_metadata

    meta = read_metadata(path)
    if meta.get("format") != FORMAT:
        return "a research checkpoint without tsfgui metadata", None
    config = TSFmicroConfig.from_json(meta["config"])
    provenance = json.loads(meta.get("provenance") or "{}")
    with safe_open(str(path), framework="pt") as f:
        parameters = 0
        for name in f.keys():
            if not name.endswith(_BUFFERS):
                n = 1
                for d in f.get_slice(name).get_shape():
                    n *= int(d)
                parameters += n
    summary = weights_summary(config, provenance, parameters)
    return summary, weights_warning(summary, provenance)


def provenance_notice(provenance: Mapping[str, Any] | None) -> str | None:
    """The warning a weights file's provenance carries (demo weights: synthetic data only), or None."""
    prov = dict(provenance or {})
    if prov.get("warning"):
        return str(prov["warning"])
    if prov.get("synthetic") or prov.get("validated_on_real_data") is False:
        return DEMO_NOTICE
    return None


def weights_warning(summary: str, provenance: Mapping[str, Any] | None) -> str | None:
    """The banner text: the summary and the provenance's warning, or ``None`` for weights with no warning."""
    notice = provenance_notice(provenance)
    return None if notice is None else f"{summary}. {notice}"
