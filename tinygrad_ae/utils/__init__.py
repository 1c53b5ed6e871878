"""torch.utils's place: `utils.data` (datasets and the loader)."""
from . import data
