"""torch.nn's conv layers."""
__all__ = []
