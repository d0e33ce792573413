"""The headless analysis engine (no Qt): pairing, the analysis loop, live streaming, results."""

from .analyzer import HEATMAP_KINDS, Analyzer, AnalyzerStats
from .live import LatestFrame, LiveStats
from .pairing import FixedOnset, FrameHistory, FrameRecord, NeutralBaseline, ReferencePolicy, RollingLag, default_policy
from .results import DIFF_KEYS, FrameResult
from .results_cache import ResultsCache, cache_key, default_cache_dir

__all__ = [
    "HEATMAP_KINDS", "Analyzer", "AnalyzerStats", "LatestFrame", "LiveStats", "FixedOnset", "FrameHistory",
    "FrameRecord", "NeutralBaseline", "ReferencePolicy", "RollingLag", "default_policy", "DIFF_KEYS", "FrameResult",
    "ResultsCache", "cache_key", "default_cache_dir",
]
