"""The command line: `python -m tinygrad_ae train|bench|graph` (also installed as `tinygrad-ae`).

A thin argparse front end: `train` is tinygrad_ae.training.job.run_job, `bench` and `graph` hand their
arguments to tinygrad_ae.race.main and tinygrad_ae.viz.main, imported only when asked for.
"""
import argparse
import importlib
import sys

from .models.spec import DECODERS, ENCODERS, LOSSES, OPTIMIZERS

# subcommand -> (module whose main(argv) runs it, one line of help)
TOOLS = {
    "bench": ("tinygrad_ae.race", "time the framework against hand-written numpy and other autograd libraries"),
    "graph": ("tinygrad_ae.viz", "draw the computation graph of the autoencoder's loss"),
}


def build_parser(prog="tinygrad-ae"):
    from .training.options import DEFAULTS, MODELS   # the numbers live with the job's options; shown in --help

    d = DEFAULTS
    parser = argparse.ArgumentParser(
        prog=prog, description="The lecture's autoencoder on a tiny numpy autograd framework.",
        epilog=f"`{prog} COMMAND --help` explains a command's options.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    train = commands.add_parser(
        "train", help="train the autoencoder and compare it with PCA (the main job)",
        description="Train the lecture's autoencoder h = g(W x + b), x_hat = f(W* h + c); a checkpoint is "
                    "saved after every epoch and the result is compared with the PCA bound.")
    # every default is None here: the job fills them in, and can tell what the user chose (--binarize, --resume)
    add = train.add_argument
    add("--model", choices=tuple(MODELS), help=f"what to train (default {d['model']}): "
        + "; ".join(f"{kind.name}, {kind.describe}" for kind in MODELS.values()))
    add("--latent", type=int, metavar="Z", help="--model vae: the dimension of the code z (default 20; 2 draws "
                                                "the codes as they are)")
    add("--data", metavar="NAME|PATH", help="digits (embedded 8x8, the default), fashion-mnist, mnist, or a path: "
                                            "a folder of IDX files or a .npy/.npz/.csv of rows")
    add("--hidden", type=_hidden, metavar="K[,K2,...]",
        help=f"number of hidden units k (default {d['hidden']}; --model vae: 400, made: 500); sizes separated by "
             "commas make a deep autoencoder, e.g. 1000,500,250,30 (the decoder mirrors them), or MADE's layers")
    add("--encoder", choices=ENCODERS, help=f"encoder activation g (default {d['encoder']})")
    add("--code-activation", choices=ENCODERS,
        help="a deep autoencoder's code layer activation (default: the encoder's; Hinton & Salakhutdinov: linear)")
    add("--decoder", choices=DECODERS, help="decoder activation f (default linear; sigmoid with --binarize)")
    add("--loss", choices=LOSSES, help="mse (squared error) or bce (cross-entropy); default: the decoder's pair")
    add("--tied", action="store_true", default=None, help="tie the decoder weight to the encoder's: W* = W^T")
    add("--binarize", action="store_true", default=None,
        help="threshold the inputs at 0.5 (binary inputs: sigmoid decoder and cross-entropy by default)")
    reg = train.add_argument_group("regularization (the lecture's road ahead; none by default)")
    reg.add_argument("--weight-decay", type=float, metavar="LAMBDA",
                     help="add LAMBDA * (||W||^2 + ||W*||^2) over the weight matrices (not the biases)")
    reg.add_argument("--noise", metavar="KIND:LEVEL",
                     help="denoising: mask:Q sets each input to 0 with probability Q (e.g. mask:0.3); gaussian:SIGMA "
                          "adds N(0, SIGMA^2) (e.g. gaussian:0.5). The loss compares with the clean input")
    reg.add_argument("--sparsity", type=float, metavar="RHO",
                     help="sparse autoencoder: add beta * sum KL(RHO || mean activation) over the hidden units "
                          "(sigmoid code)")
    reg.add_argument("--sparsity-weight", type=float, metavar="BETA", help="beta for --sparsity (default 1)")
    reg.add_argument("--contractive", type=float, metavar="LAMBDA",
                     help="contractive autoencoder: add LAMBDA * ||dh/dx||_F^2, mean over examples (one hidden layer)")
    add("--epochs", type=int, help=f"total number of passes over the training rows (default {d['epochs']})")
    add("--batch-size", type=int, metavar="N", help=f"rows per optimizer step (default {d['batch_size']})")
    add("--lr", type=float, help=f"learning rate (default {d['lr']:g})")
    add("--optimizer", choices=OPTIMIZERS, help=f"the optimizer (default {d['optimizer']})")
    add("--seed", type=int, help=f"seed for the initial weights, the shuffle order and the noise (default "
                                 f"{d['seed']}); the 80/20 train/validation split always uses seed 0 (data with a "
                                 "test split, such as fashion-mnist, hold out their test files instead)")
    add("--out", metavar="FOLDER", help="where to write the results (default runs/<data>-<date>-<time>/)")
    add("--no-compile", dest="compile", action="store_false", default=None,
        help="run every training step eagerly instead of as a captured numpy program (tg.compile); "
             "the results are the same, bit for bit")
    add("--resume", metavar="CHECKPOINT", help="continue the run saved in this checkpoint.npz exactly "
                                               "(--epochs may raise its total)")
    for name, (_, help_text) in TOOLS.items():
        commands.add_parser(name, help=help_text, add_help=False)
    return parser


def _hidden(text):
    """--hidden: "16" (one hidden layer) or "1000,500,250,30" (a deep autoencoder's layer sizes)."""
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number or sizes separated by commas "
                                         f"(e.g. 16 or 1000,500,250,30), got {text!r}") from None
    return sizes[0] if len(sizes) == 1 else sizes


def parse_train_args(argv, prog="tinygrad-ae"):
    """The options of `train ARGV...` as a dict, None where not given (what training.job.run_job takes)."""
    options = vars(build_parser(prog).parse_args(["train", *argv]))
    del options["command"]
    return options


def main(argv=None, prog=None):
    """Run one command; returns the exit code (0 ok, 2 usage or data error, 3 diverged, 130 interrupted)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    prog = prog or "tinygrad-ae"
    if argv and argv[0] in TOOLS:           # their own parsers read the rest, --help included
        return _run_tool(argv[0], argv[1:], prog)
    parser = build_parser(prog)
    if not argv:                            # a newcomer typing just the program name: show what it can do
        parser.print_help(sys.stderr)
        return 2
    try:
        options = vars(parser.parse_args(argv))
    except SystemExit as stop:              # argparse has printed the usage (or --help)
        return stop.code if isinstance(stop.code, int) else 2
    del options["command"]                  # only `train` gets here
    from .training.job import run_job
    return run_job(options, prog=prog)


def _run_tool(name, argv, prog):
    module_name = TOOLS[name][0]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name == module_name:
            print(f"{prog} {name}: not available in this installation: the module {module_name} is missing",
                  file=sys.stderr)
        else:
            print(f"{prog} {name}: needs the Python package {e.name!r}, which is not installed "
                  f"(pip install {e.name.split('.')[0]})", file=sys.stderr)
        return 2
    code = module.main(argv)
    return 0 if code is None else code
