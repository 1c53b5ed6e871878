"""torch.autograd.Function: a differentiable operation written by the user, PyTorch's way.

    class Exp(tg.autograd.Function):
        @staticmethod
        def forward(ctx, i):
            result = i.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):
            result, = ctx.saved_tensors
            return grad_output * result

    y = Exp.apply(x)            # a Tensor that joins the graph

`forward(ctx, *args)` runs under no_grad on the caller's own arguments: Tensors, and anything else
(numbers, None, strings), which passes through and gets no gradient. `backward(ctx, *grad_outputs)`
gets one gradient per output of forward and returns one gradient per argument of forward (a Tensor, or
None), or a bare Tensor when forward took one argument. `ctx` carries `save_for_backward(*tensors)` /
`saved_tensors`, `needs_input_grad` (one bool per argument), `mark_non_differentiable(*outputs)` and
any attribute you set on it (ctx.alpha = alpha). torch 2.x's other spelling works too: a forward
without ctx and a static `setup_context(ctx, inputs, output)`.

How it joins the engine: each subclass gets a node class of the engine, `<Name>Backward` (an
ops.Function), and `apply` makes that node through the engine's one `apply`, with the caller's
Tensors as its inputs, so observers (trace, detect_anomaly), the release of saved arrays and the
backward walk treat it as any primitive. The user's forward runs just before, in `Function.apply`
(the engine's apply would retell a ValueError raised in it as a shape error of the node); the node's
forward hands its result on. The node's backward calls the user's backward the way the engine calls
any backward:
  * a plain backward() passes ndarrays: the adapter wraps them in Tensors, runs the user's backward
    with grad mode off and hands back the arrays;
  * backward(create_graph=True) passes Tensors with grad mode on: the user's backward then records its
    Tensor operations, and `ctx.saved_tensors` gives the caller's input Tensors and the node's output
    Tensor themselves, so a backward written with Tensor operations is differentiated again (through
    this node again where it uses the output).
Several differentiable outputs are one node whose output is their values concatenated (one dtype);
each output is a slice of it, reshaped, so the engine's Index and Reshape route their gradients back.
What backward returns is checked against forward's arguments; an error names the Function.
"""
import inspect
import warnings

import numpy as np

from ..engine import ops
from ..engine.tensor import Tensor, apply as _engine_apply, is_grad_enabled, no_grad

__all__ = ["Function", "FunctionCtx"]


class FunctionCtx:
    """The `ctx` a Function's forward and backward share; any attribute can be set on it."""

    def save_for_backward(self, *tensors):
        """Keep Tensors (or None) for backward, which reads them as ctx.saved_tensors. Save inputs and
        outputs this way rather than as attributes: under create_graph=True they come back as the
        graph's own tensors, so that the backward's operations on them are differentiated."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save Tensors (or None), but argument {i} is a "
                                f"{type(t).__name__}; keep other values as attributes of ctx (ctx.name = value)")
        self._to_save = tensors

    @property
    def saved_tensors(self):
        """What save_for_backward kept, in order; in backward, the graph's own tensors (see the module)."""
        unpacked = getattr(self, "_unpacked", None)
        return unpacked if unpacked is not None else getattr(self, "_to_save", ())

    def mark_non_differentiable(self, *outputs):
        """Outputs of forward that get no gradient (indices, masks): returned as plain Tensors.
        backward still receives a gradient for each of them (zeros), as in PyTorch."""
        for i, t in enumerate(outputs):
            if not isinstance(t, Tensor):
                raise TypeError(f"mark_non_differentiable takes output Tensors, but argument {i} is a "
                                f"{type(t).__name__}")
        self._non_differentiable = getattr(self, "_non_differentiable", ()) + outputs


class Function:
    """Base class of a differentiable operation: subclass it with static forward(ctx, *args) and
    backward(ctx, *grad_outputs), and call it as MyFunction.apply(*args). See the module docstring."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # the engine's node class for this Function: PyTorch names it <Name>Backward too
        cls._backward_cls = type(f"{cls.__name__}Backward", (_Node,), {"__slots__": (), "function": cls})

    def __init__(self, *args, **kwargs):
        warnings.warn(f"{type(self)} should not be instantiated. Methods on autograd functions are all static, "
                      "so you should invoke them on the class itself.", DeprecationWarning, stacklevel=2)

    def __call__(self, *args, **kwargs):
        raise RuntimeError(f"{type(self).__name__}: an autograd.Function is not called; its forward and "
                           f"backward are static methods: call {type(self).__name__}.apply(...)")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        """The computation, on the caller's arguments, under no_grad. Override it."""
        raise NotImplementedError("You must implement the forward function for a custom autograd.Function")

    @staticmethod
    def setup_context(ctx, inputs, output):
        """torch 2.x's other spelling: override it (and write forward without ctx) to fill ctx from the
        inputs (a tuple of forward's arguments) and forward's output."""
        raise NotImplementedError("setup_context is not overridden")

    @staticmethod
    def backward(ctx, *grad_outputs):
        """One gradient per argument of forward (None for those that get none), from one gradient per
        output. Override it (or `vjp`, its other name)."""
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD")

    vjp = backward

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run forward on args and return its output, joined to the graph: where an argument requires
        grad (and grad mode is on), the Tensors it returned are differentiated through backward.
        Keyword arguments go to forward and get no gradient."""
        if cls is Function:
            raise RuntimeError("Function.apply: subclass Function and call apply on the subclass")
        setup_context = cls.setup_context is not Function.setup_context
        if setup_context:       # as torch: setup_context's inputs include forward's defaults
            bound = inspect.signature(cls.forward).bind(*args, **kwargs)
            bound.apply_defaults()
            args, kwargs = bound.args, bound.kwargs
        ctx = FunctionCtx()
        grad_enabled = is_grad_enabled()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad and grad_enabled for a in args)
        with no_grad():
            if setup_context:
                output = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args, **kwargs)
        call = _Call(cls, ctx, args, output)
        if not call.differentiable:
            return output
        node_output = _engine_apply(cls._backward_cls, *call.inputs, call=call)
        return call.outputs_from(node_output)


class _Node(ops.Function):
    """The engine's node of one call of a Function (subclassed once per Function as <Name>Backward)."""

    __slots__ = ()
    function = None                             # the user's Function subclass

    @property
    def name(self):
        return type(self).__name__

    def forward(self, *arrays, call):
        return call.packed

    def backward(self, grad, out, *inputs, call):
        return call.backward(grad, out, inputs)


def _describe(value):
    if isinstance(value, Tensor):
        return f"a Tensor of shape {value.shape}"
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {value.shape}"
    return "None" if value is None else f"a {type(value).__name__}"


class _Call:
    """One call of a Function: its arguments and outputs, and how the node's one output (the
    differentiable outputs' values, concatenated when there are several) maps back to them."""

    def __init__(self, function, ctx, args, output):
        self.function, self.ctx, self.args = function, ctx, args
        self.positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.inputs = [args[i] for i in self.positions]
        self.is_tuple = isinstance(output, tuple)
        self.outputs = output if self.is_tuple else (output,)
        excluded = getattr(ctx, "_non_differentiable", ())
        self.slots = [j for j, o in enumerate(self.outputs) if isinstance(o, Tensor) and o.dtype.kind == "f"
                      and not any(o is e for e in excluded)]
        self.differentiable = bool(self.slots)
        if len(self.slots) == 1:
            self.packed = self.outputs[self.slots[0]].data
            self.bounds = None
        elif self.slots:
            dtypes = {self.outputs[j].dtype for j in self.slots}
            if len(dtypes) > 1:
                raise RuntimeError(f"{function.__name__}.apply: forward returned differentiable outputs of dtypes "
                                   f"{', '.join(sorted(map(str, dtypes)))}; return outputs of one dtype")
            self.packed = np.concatenate([self.outputs[j].data.reshape(-1) for j in self.slots])
            ends = np.cumsum([self.outputs[j].numel() for j in self.slots]).tolist()
            self.bounds = list(zip([0] + ends[:-1], ends))

    def _split(self, packed):
        """The differentiable outputs' pieces of the node's output (or of its gradient): Tensors."""
        if self.bounds is None:
            return [packed]
        return [packed[a:b].reshape(self.outputs[j].shape) for j, (a, b) in zip(self.slots, self.bounds)]

    def outputs_from(self, node_output):
        """forward's output, with each differentiable Tensor replaced by its part of the node's output
        and each non-differentiable one by a plain Tensor."""
        results = list(self.outputs)
        for j, o in enumerate(results):
            if isinstance(o, Tensor) and j not in self.slots:
                results[j] = o.detach()
        for j, piece in zip(self.slots, self._split(node_output)):
            results[j] = piece
        return tuple(results) if self.is_tuple else results[0]

    def backward(self, grad, out, inputs):
        """Run the user's backward: on Tensors (recorded) when the engine passes Tensors, else on the
        arrays wrapped in Tensors, with grad mode as the engine set it."""
        on_tensors = type(out) is Tensor
        if not on_tensors:
            grad, out = Tensor(grad), Tensor(out)
        pieces = self._split(grad)
        grad_outputs = [None if not isinstance(o, Tensor) else Tensor(np.zeros(o.shape, o.dtype))
                        for o in self.outputs]
        for j, piece in zip(self.slots, pieces):
            grad_outputs[j] = piece
        ctx = self.ctx
        if on_tensors and getattr(ctx, "_to_save", ()):   # saved outputs as the node's output: recorded
            graph_outputs = {id(self.outputs[j]): piece for j, piece in zip(self.slots, self._split(out))}
            ctx._unpacked = tuple(graph_outputs.get(id(t), t) for t in getattr(ctx, "_to_save", ()))
        user_backward = self.function.backward
        if self.function.vjp is not Function.vjp and user_backward is Function.backward:
            user_backward = self.function.vjp
        try:
            grads = user_backward(ctx, *grad_outputs)
        finally:
            ctx._unpacked = None                 # (the output Tensor must not stay: no reference cycles)
        grads = self._checked(grads)
        results = []
        for position, x in zip(self.positions, self.inputs):
            g = grads[position]
            if g is not None and not on_tensors:
                # a leaf keeps its gradient as .grad and adds later ones into it in place: a copy, since
                # the user's backward may return an array it shares (grad_output, a saved tensor); made
                # through the array's method, which a captured step (tg.compile) sees
                g = g.data.astype(x.dtype, copy=x.is_leaf)
            results.append(g)
        return tuple(results)

    def _checked(self, grads):
        """backward's result as one gradient per argument of forward, or an error naming the Function."""
        name, n = self.function.__name__, len(self.args)
        if not isinstance(grads, (tuple, list)):
            if n != 1:
                raise RuntimeError(f"{name}.backward returned {_describe(grads)}, but forward took {n} arguments: "
                                   f"return a tuple of {n} gradients, one per argument of forward (None for "
                                   "an argument that gets no gradient)")
            grads = (grads,)
        grads = tuple(grads)
        if len(grads) > n and all(g is None for g in grads[n:]):
            grads = grads[:n]                    # extra Nones are allowed, as in PyTorch
        if len(grads) != n:
            raise RuntimeError(f"{name}.backward returned {len(grads)} gradients "
                               f"({', '.join(_describe(g) for g in grads) or 'an empty tuple'}), but forward took "
                               f"{n} argument{'s' if n != 1 else ''}: return one gradient per argument of forward "
                               "(None for an argument that gets no gradient)")
        for i, (g, a) in enumerate(zip(grads, self.args)):
            if g is None:
                continue
            if not isinstance(a, Tensor):
                raise RuntimeError(f"{name}.backward returned {_describe(g)} as the gradient of argument {i}, which "
                                   f"is not a Tensor ({_describe(a)}); return None for it")
            if not isinstance(g, Tensor):
                raise RuntimeError(f"{name}.backward returned {_describe(g)} as the gradient of argument {i}; "
                                   "return a Tensor (made from the grad_outputs and ctx.saved_tensors with Tensor "
                                   "operations, so that create_graph=True can differentiate it) or None")
            try:
                fits = np.broadcast_shapes(g.shape, a.shape) == g.shape
            except ValueError:
                fits = False
            if not fits:
                raise RuntimeError(f"{name}.backward returned a gradient of shape {g.shape} for argument {i}, "
                                   f"which has shape {a.shape}; a gradient has its argument's shape (or one that it "
                                   "broadcasts to, summed back)")
        return grads
