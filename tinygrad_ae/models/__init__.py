"""The models built on the framework: the lecture's autoencoder (and its regularized and deep variants),
with `reference.py` holding the slides' closed forms in plain numpy."""
from .autoencoder import Autoencoder
