"""tinygrad_ae: a tiny, readable reverse-mode autograd framework on numpy, and the lecture autoencoder."""
from . import autograd, data, functional, nn, optim, viz
from .models import reference
from .models.autoencoder import Autoencoder
from .training.loop import TrainingDiverged
from .engine import ops
from .capture import CaptureError, compile
from .debug import AnomalyError, detect_anomaly, trace
from .gradcheck import gradcheck, gradgradcheck, numerical_grad
from .serialization import load, save
from .engine.tensor import Tensor, apply, cat, enable_grad, grad, is_grad_enabled, maximum, minimum, no_grad, stack, where

__all__ = ["Tensor", "apply", "grad", "autograd", "no_grad", "enable_grad", "is_grad_enabled", "gradcheck",
           "gradgradcheck", "numerical_grad", "functional", "nn", "optim", "save", "load", "Autoencoder", "TrainingDiverged", "data",
           "reference", "cat", "stack", "where", "maximum", "minimum",
           "viz", "trace", "detect_anomaly", "AnomalyError", "compile", "CaptureError"]
__version__ = "0.1.0"
