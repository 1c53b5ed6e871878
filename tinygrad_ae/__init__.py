"""tinygrad_ae: a tiny, readable reverse-mode autograd framework on numpy, and the lecture autoencoder."""
from . import autograd, data, dtypes, factories, functional, nn, optim, random, utils, viz
from .models import reference
from .models.autoencoder import Autoencoder
from .models.vae import VAE
from .models.made import MADE
from .models.conv_autoencoder import ConvAutoencoder
from .training.loop import TrainingDiverged
from .engine import ops
from .capture import CaptureError, compile
from .debug import AnomalyError, detect_anomaly, trace
from .gradcheck import gradcheck, gradgradcheck, numerical_grad
from .serialization import load, save
from .engine.tensor import Tensor, apply, enable_grad, is_grad_enabled, no_grad
from .engine.functions import cat, grad, maximum, minimum, stack, where
# PyTorch's tensor-level surface: dtypes (torch.float32 ...; float, int and bool shadow Python's only in this
# namespace, as in torch), the device, random numbers, and the factories
from .dtypes import (bool, device, double, float, float16, float32, float64, get_default_dtype, half, int,  # noqa: A004
                     int8, int16, int32, int64, long, set_default_dtype, short, uint8)
from .random import Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from .factories import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like, is_floating_point,
                        is_tensor, linspace, numel, ones, ones_like, tensor, zeros, zeros_like)
from .random_factories import multinomial, normal, rand, rand_like, randint, randn, randn_like, randperm
# torch's function forms (tg.exp(x) is x.exp(); max, min, sum, abs, round, all, any and pow shadow Python's
# here only, as in torch), and torch.Size
from .engine.shapes import Size
from .operations import (abs, add, all, allclose, amax, amin, any, argmax, argmin, bmm, ceil, chunk, clamp, clip,  # noqa: A004
                         clone, cos, cumsum, div, dot, equal, exp, expm1, flatten, floor, gather, inference_mode,
                         isclose, erf, log, log1p, log2, log10, log_softmax, logsumexp, masked_fill, matmul, max, mean,
                         min, mm, mul, neg, norm, permute, pow, prod, reciprocal, relu, reshape, round, rsqrt,
                         set_grad_enabled, sigmoid, sign, sin, softmax, split, sqrt, square, squeeze, std, sub, sum,
                         swapaxes, t, tanh, transpose, trunc, unflatten, unsqueeze, var)

__all__ = ["Tensor", "apply", "grad", "autograd", "no_grad", "enable_grad", "is_grad_enabled", "gradcheck",
           "gradgradcheck", "numerical_grad", "functional", "nn", "optim", "save", "load", "Autoencoder", "VAE", "MADE", "ConvAutoencoder", "TrainingDiverged", "data",
           "reference", "cat", "stack", "where", "maximum", "minimum",
           "viz", "trace", "detect_anomaly", "AnomalyError", "compile", "CaptureError",
           "dtypes", "factories", "random", "utils",
           "float32", "float", "float64", "double", "float16", "half", "int64", "long", "int32", "int", "int16", "short",
           "int8", "uint8", "bool", "get_default_dtype", "set_default_dtype", "device",
           "Generator", "default_generator", "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state",
           "tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "eye", "arange", "linspace",
           "zeros_like", "ones_like", "full_like", "empty_like", "rand_like", "randn_like", "rand", "randn", "randint",
           "randperm", "multinomial", "normal", "is_tensor", "is_floating_point", "numel", "Size", "operations",
           "abs", "add", "all", "allclose", "amax", "amin", "any", "argmax", "argmin", "bmm", "ceil", "chunk", "clamp",
           "clip", "clone", "cos", "cumsum", "div", "dot", "equal", "exp", "expm1", "flatten", "floor", "gather",
           "inference_mode", "erf", "isclose", "log", "log1p", "log2", "log10", "log_softmax", "logsumexp", "masked_fill",
           "matmul", "max", "mean", "min", "mm", "mul", "neg", "norm", "permute", "pow", "prod", "reciprocal", "relu",
           "reshape", "round", "rsqrt", "set_grad_enabled", "sigmoid", "sign", "sin", "softmax", "split", "sqrt",
           "square", "squeeze", "std", "sub", "sum", "swapaxes", "t", "tanh", "transpose", "trunc", "unflatten",
           "unsqueeze", "var"]
__version__ = "0.1.0"
