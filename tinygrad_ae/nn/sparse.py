"""torch.nn's lookup layers (`Embedding`)."""
__all__ = []
