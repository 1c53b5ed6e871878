"""tg.compile: capture a training step's numpy calls once, plan its buffers, replay it.

Read in this order: calls.py (what a program is made of: buffers and calls), trace.py (the Traced
array, and the Recorder that writes a step down as calls), plan.py (what a program means, `interpret`;
its memory plan: calls dropped, in place, shared memory), emit.py (the replay as generated Python
source), discover.py and step.py (compile(): the arrays a step reads, warm-up, two captures, replays);
fused/ is the fused backend (numba kernels between numpy's BLAS calls, `backend="fused"`).
"""
from .plan import Program
from .step import CompiledStep, compile
from .calls import CaptureError
from .trace import Traced

__all__ = ["compile", "CompiledStep", "CaptureError", "Program", "Traced"]
