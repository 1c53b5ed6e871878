"""The engine: read `ops.py` (the derivative table), then `tensor.py` (Tensor, apply, the backward walk)."""
