"""tg.compile: capture a training step's numpy calls once, plan its buffers, replay it.

Read in this order: trace.py (the Traced array and what a capture records), plan.py (lifetimes,
in-place, shared memory, the generated replay), step.py (compile(): warm-up, two captures, replays).
"""
from .plan import Program
from .step import CompiledStep, compile
from .trace import CaptureError, Traced

__all__ = ["compile", "CompiledStep", "CaptureError", "Program", "Traced"]
