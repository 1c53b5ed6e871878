"""torch-style masked layers: `MaskedLinear` (MADE)."""
__all__ = []
