"""torch.nn's normalization layers."""
__all__ = []
