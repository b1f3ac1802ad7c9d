"""SWE-bench: instances, predictions files, and grading without Docker (`grade`) or with
SWE-bench's own harness (`run_official`). Grading needs the `swebench` extra."""

from codehelm.evals.swebench.grader import GradeConfig, GradeReport, InstanceGrade, grade
from codehelm.evals.swebench.instances import (
    InstanceFileError,
    SWEInstance,
    clone_problem,
    read_instances,
)
from codehelm.evals.swebench.predictions import (
    Prediction,
    append_prediction,
    predicted_ids,
    read_predictions,
)
from codehelm.evals.swebench.specs import InstanceSpec, SpecError

__all__ = [
    "GradeConfig",
    "GradeReport",
    "InstanceFileError",
    "InstanceGrade",
    "InstanceSpec",
    "Prediction",
    "SWEInstance",
    "SpecError",
    "append_prediction",
    "clone_problem",
    "grade",
    "predicted_ids",
    "read_instances",
    "read_predictions",
]
