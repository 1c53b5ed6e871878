"""torch.optim's surface: `SGD`, `Adam`, `AdamW`, `RMSprop`, `Adagrad` with torch's update rules,
parameter groups and state dicts; `lr_scheduler` (torch.optim.lr_scheduler's schedules).

Read in this order: optimizer.py (the base: groups, state, the step loop, state dicts), groups.py
(param_groups, whose writes reach the numbers a step reads), one file per rule (sgd.py, adam.py,
rmsprop.py), flat.py (a state dict as one flat dict of arrays, for tg.save and the training
checkpoint), lr_scheduler.py.

Each optimizer writes its rule once, for one parameter (`update`), as torch's documentation writes
it; `step()` applies it to every parameter that has a gradient. Parameters are updated in place
(`p.data` is never replaced, so anything holding the array sees the update) and a step allocates no
array: state is made at a parameter's first step, scratch buffers with its group, and both reused. Each ufunc gets
its output as its last positional argument (np.multiply(g, lr, s) is s = g * lr).

The numbers live in arrays: a group's options are written, when set, into 0-d arrays of each
parameter dtype (groups.py), and the rule multiplies by those and tests them in its `if`s; step
counts are 0-d arrays that step() increments, and what torch computes from them in Python floats
(bias corrections, Adagrad's decayed lr) is numpy calls in float64. So a step is numpy calls on
arrays and nothing else, which is what a captured step (`tg.compile`) replays: it reads the learning
rate where a scheduler writes it. The bools that pick a branch of the rule (nesterov, maximize,
amsgrad...) stay Python values; changing one, or the groups themselves, gives the groups fresh
arrays, so a replay bound to the old ones captures again instead of replaying a stale value.

A new optimizer passes its defaults, checks them (`_check`), says what numbers they make
(`numbers_of`) and writes `update`.
"""
from . import flat, lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import Adagrad, RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler", "flat"]
