# The examples of torch.autograd.functional's documentation (jacobian, hessian, vjp, jvp, hvp), one
# example a paragraph (the test runs each alone); the docs' torch.rand(...) inputs are fixed float64 draws.
import torch
from torch.autograd.functional import jacobian, hessian, vjp, jvp, hvp


def exp_reducer(x):
    return x.exp().sum(dim=1)


def exp_adder(x, y):
    return 2 * x.exp() + 3 * y


def pow_reducer(x):
    return x.pow(3).sum()


def pow_adder_reducer(x, y):
    return (2 * x.pow(2) + 3 * y.pow(2)).sum()


def adder(x, y):
    return 2 * x + 3 * y


results = {}

inputs = torch.tensor(R22)
results["jacobian"] = jacobian(exp_reducer, inputs)

inputs = torch.tensor(R22)
results["jacobian_create_graph"] = jacobian(exp_reducer, inputs, create_graph=True)

inputs = (torch.tensor(R2a), torch.tensor(R2b))
results["jacobian_tuple"] = jacobian(exp_adder, inputs)

inputs = torch.tensor(R22)
results["hessian"] = hessian(pow_reducer, inputs)

inputs = (torch.tensor(R2a), torch.tensor(R2b))
results["hessian_tuple"] = hessian(pow_adder_reducer, inputs)

inputs = torch.tensor(R44)
v = torch.ones(4, dtype=torch.float64)
results["vjp"] = vjp(exp_reducer, inputs, v)

inputs = torch.tensor(R44)
v = torch.ones(4, dtype=torch.float64)
results["vjp_create_graph"] = vjp(exp_reducer, inputs, v, create_graph=True)

inputs = (torch.tensor(R2a), torch.tensor(R2b))
v = torch.ones(2, dtype=torch.float64)
results["vjp_tuple"] = vjp(adder, inputs, v)

inputs = torch.tensor(R44)
v = torch.ones(4, 4, dtype=torch.float64)
results["jvp"] = jvp(exp_reducer, inputs, v)

inputs = (torch.tensor(R2a), torch.tensor(R2b))
v = (torch.ones(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64))
results["jvp_tuple"] = jvp(adder, inputs, v)

inputs = torch.tensor(R22)
v = torch.ones(2, 2, dtype=torch.float64)
results["hvp"] = hvp(pow_reducer, inputs, v)

inputs = torch.tensor(R22)
v = torch.ones(2, 2, dtype=torch.float64)
results["hvp_create_graph"] = hvp(pow_reducer, inputs, v, create_graph=True)

inputs = (torch.tensor(R2a), torch.tensor(R2b))
v = (torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64))
results["hvp_tuple"] = hvp(pow_adder_reducer, inputs, v)
