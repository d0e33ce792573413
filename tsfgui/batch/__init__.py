"""Many inputs at once, above the engine: which inputs (:mod:`.inputs`), one input into its result
folder (:mod:`.one_input`), the local process pool (:mod:`.local`), and Ray tasks on a cluster
(:mod:`.on_ray`, behind ``--cluster``; needs the optional extra)."""

from .inputs import FoundInputs, NoInputsError, expand_inputs, find_inputs, output_dir
from .local import BatchReport, analyze_batch
from .one_input import InputOutcome, analyze_one

__all__ = ["BatchReport", "FoundInputs", "InputOutcome", "NoInputsError", "analyze_batch", "analyze_one", "expand_inputs",
           "find_inputs", "output_dir"]
