"""The TSFmicro model (no Qt): network, explanations, weights files, device choice.

Public names, in the order a caller needs them::

    from tsfgui.model import TSFmicro, TSFmicroConfig, crops_to_tensor, select_device
    model = TSFmicro.from_pretrained("weights.safetensors").eval().to(select_device())
    onset, apex = model.preprocess(onset_crop), model.preprocess(apex_crop)  # uint8 BGR crops
    with torch.inference_mode():
        ref = model.embed_reference(onset)            # cache per frame
        probs = model(onset, apex, reference=ref).softmax(-1)
"""

from .checkpoint_filter import LoadReport
from .config import (
    CUSTOM_SCHEME, IMAGENET_MEAN, IMAGENET_STD, LABEL_SCHEMES, ConfigError, LabelScheme, TSFmicroConfig,
    get_label_scheme,
)
from .device import available_cpus, configure_threads, select_device, tune_allocator
from .ops import fast_kernels, fast_kernels_enabled
from .tsfmicro import ClassifierHead, TSFmicro, TSFmicroOutput, count_flops, create_model, crops_to_tensor, load_model
from .weights import WeightsError, read_metadata, save_model

__all__ = [
    "CUSTOM_SCHEME", "IMAGENET_MEAN", "IMAGENET_STD", "LABEL_SCHEMES", "ConfigError", "LabelScheme",
    "TSFmicroConfig", "get_label_scheme", "available_cpus", "configure_threads", "select_device", "tune_allocator",
    "fast_kernels", "fast_kernels_enabled", "ClassifierHead", "TSFmicro", "TSFmicroOutput", "count_flops",
    "crops_to_tensor", "LoadReport", "WeightsError", "load_model", "create_model", "read_metadata", "save_model",
]
