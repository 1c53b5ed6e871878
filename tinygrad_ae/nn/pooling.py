"""torch.nn's pooling layers."""
__all__ = []
