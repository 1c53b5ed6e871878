"""The `train` job: its options (`options.py`), the run (`job.py`), checkpoints, the report and the pictures."""
from .job import DEFAULTS, load_checkpoint, run_job  # noqa: F401
