"""tinygrad_ae.viz: DOT text of the graph, drawing with and without Graphviz, the graph command."""
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tinygrad_ae import Tensor
from tinygrad_ae import viz

NODE = re.compile(r'^  (\w+) \[(.*)\];$')
EDGE = re.compile(r'^  (\w+) -> (\w+)(?: \[label=(\d+)\])?;$')
ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^,\s]+)')


def parse_dot(text):
    """(nodes {id: {attr: value}}, edges [(source, target, label)]) of the DOT text to_dot writes.

    Every line must be a header line, a node or an edge: this doubles as a syntax check."""
    lines = text.splitlines()
    assert lines[0] == "digraph tinygrad_ae {" and lines[-1] == "}"
    nodes, edges = {}, []
    for line in lines[1:-1]:
        if line.startswith(("  graph [", "  node [", "  edge [")):
            continue
        edge = EDGE.match(line)
        if edge:
            edges.append((edge[1], edge[2], None if edge[3] is None else int(edge[3])))
            continue
        node = NODE.match(line)
        assert node, f"not a node or an edge: {line!r}"
        attrs = {}
        for key, value in ATTR.findall(node[2]):
            if value.startswith('"'):
                value = re.sub(r'\\(.)', lambda m: "\n" if m[1] == "n" else m[1], value[1:-1])
            attrs[key] = value
        assert node[1] not in nodes, f"node {node[1]} declared twice"
        nodes[node[1]] = attrs
    for source, target, _ in edges:
        assert source in nodes and target in nodes, f"edge {source} -> {target} to an undeclared node"
    return nodes, edges


def style(attrs):
    return (attrs.get("shape"), attrs.get("style"), attrs.get("fillcolor"))


def by_label(nodes, first_line):
    found = [i for i, a in nodes.items() if a["label"].split("\n")[0] == first_line]
    assert len(found) == 1, f"{len(found)} nodes labelled {first_line!r}"
    return found[0]


def neuron():
    """L = (sigmoid(w * x + b) - y)^2 with parameters w, b and inputs x, y (float64 scalars)."""
    w = Tensor(np.array(0.5), requires_grad=True, name="w")
    b = Tensor(np.array(-1.0), requires_grad=True, name="b")
    x = Tensor(np.array(2.0), name="x")
    y = Tensor(np.array(1.0), name="y")
    z = w * x + b
    z.name = "z"
    p = z.sigmoid()
    loss = (p - y) ** 2
    loss.name = "L"
    return loss, (w, b, x, y, z, p)


def test_one_node_per_tensor_and_per_op_with_edges_in_data_flow_order():
    loss, (w, b, x, y, z, p) = neuron()
    nodes, edges = parse_dot(viz.to_dot(loss))
    ops = {i: a["label"] for i, a in nodes.items() if a.get("shape") == "ellipse"}
    tensors = {i: a["label"] for i, a in nodes.items() if a.get("shape") == "box"}
    assert sorted(ops.values()) == ["add", "mul", "pow", "sigmoid", "sub"]
    assert len(tensors) == 4 + 5             # w, b, x, y and one output per op
    assert len(edges) == 8 + 5               # op inputs (mul 2, add 2, sigmoid 1, sub 2, pow 1) + op outputs
    # every edge joins a tensor and an op, tensor -> op (an input) or op -> tensor (its output)
    for source, target, _ in edges:
        assert (source in tensors) != (target in tensors)
    produced = [t for s, t, _ in edges if s in ops]
    assert sorted(produced) == sorted(set(produced)) and len(produced) == 5   # one output per op
    # the chain w, x -> mul -> (w*x) -> add -> z -> sigmoid -> ... -> pow -> L
    mul = next(i for i, label in ops.items() if label == "mul")
    assert {(s, label) for s, t, label in edges if t == mul} == {(by_label(nodes, "w (parameter)"), 0),
                                                                 (by_label(nodes, "x (input)"), 1)}
    sig = next(i for i, label in ops.items() if label == "sigmoid")
    assert (by_label(nodes, "z"), sig, None) in edges
    pow_op = next(i for i, label in ops.items() if label == "pow")
    assert (pow_op, by_label(nodes, "L"), None) in edges
    # data-flow order in the text too: a tensor's node is declared before any op that reads it
    position = {node: k for k, node in enumerate(nodes)}
    for source, target, _ in edges:
        if source in tensors:
            assert position[source] < position[target]


def test_labels_show_name_shape_and_dtype():
    x = Tensor(np.zeros((4, 3), np.float32), name="batch")
    W = Tensor(np.ones((3, 2)), requires_grad=True)          # float64, unnamed
    out = x @ W
    nodes, _ = parse_dot(viz.to_dot(out))
    labels = sorted(a["label"] for a in nodes.values() if a.get("shape") == "box")
    assert labels == ["(4, 2) float64", "batch (input)\n(4, 3) float32", "parameter\n(3, 2) float64"]


def test_parameters_inputs_intermediates_and_output_look_different():
    loss, _ = neuron()
    nodes, _ = parse_dot(viz.to_dot(loss))
    w, b = by_label(nodes, "w (parameter)"), by_label(nodes, "b (parameter)")
    x, y = by_label(nodes, "x (input)"), by_label(nodes, "y (input)")
    z, out = by_label(nodes, "z"), by_label(nodes, "L")
    assert style(nodes[w]) == style(nodes[b])
    assert style(nodes[x]) == style(nodes[y])
    kinds = {style(nodes[n]) for n in (w, x, z, out)}
    assert len(kinds) == 4                                   # parameter, input, intermediate, output


def test_a_tensor_used_twice_is_one_node_with_two_edges():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True, name="x")
    nodes, edges = parse_dot(viz.to_dot((x * x).sum()))
    node = by_label(nodes, "x (parameter)")
    assert sorted(label for s, _, label in edges if s == node) == [0, 1]


def test_python_numbers_are_small_number_nodes_at_their_operand_position():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True, name="x")
    y = (1 - x) * 3.0
    nodes, edges = parse_dot(viz.to_dot(y))
    numbers = [i for i, a in nodes.items() if a["label"] == "number"]
    assert len(numbers) == 2                                 # one per use, not one shared hub
    sub = next(i for i, a in nodes.items() if a["label"] == "sub")
    mul = next(i for i, a in nodes.items() if a["label"] == "mul")
    into_sub = {label: s for s, t, label in edges if t == sub}
    into_mul = {label: s for s, t, label in edges if t == mul}
    assert into_sub[0] in numbers and into_sub[1] == by_label(nodes, "x (parameter)")   # 1 - x: number first
    assert into_mul[1] in numbers
    # the placeholder tensor behind numbers never shows up as a tensor node of its own
    assert not any(a["label"].startswith("input\n() float32") for a in nodes.values())


def test_show_values_and_show_grads():
    loss, (w, b, x, y, z, p) = neuron()
    plain = viz.to_dot(loss)
    loss.backward()
    nodes, _ = parse_dot(viz.to_dot(loss, show_values=True, show_grads=True))
    # by hand: z = 0.5*2 - 1 = 0, p = 0.5, dL/dw = 2 (p - y) p (1 - p) x = -0.5, dL/db = -0.25
    assert nodes[by_label(nodes, "w (parameter)")]["label"] == "w (parameter)\n() float64\n0.5\ngrad norm 0.5"
    assert nodes[by_label(nodes, "b (parameter)")]["label"] == "b (parameter)\n() float64\n-1\ngrad norm 0.25"
    assert nodes[by_label(nodes, "z")]["label"] == "z\n() float64\n0"          # intermediates keep no grad
    assert nodes[by_label(nodes, "L")]["label"] == "L\n() float64\n0.25"
    assert "grad norm" not in plain and "0.25" not in plain
    v = Tensor(np.array([1.0, 3.0, -1.0, 5.0]), requires_grad=True, name="v")
    nodes, _ = parse_dot(viz.to_dot(v * 1.0, show_values=True))
    expected = "v (parameter)\n(4,) float64\nmean 2 std 2.236 [-1, 5]"
    assert nodes[by_label(nodes, "v (parameter)")]["label"] == expected


def test_several_roots_share_their_common_part():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True, name="x")
    h = x.tanh()
    h.name = "h"
    a, b = h.sum(), h * 2.0
    nodes, edges = parse_dot(viz.to_dot([a, b]))
    assert sum(1 for s, _, _ in edges if s == by_label(nodes, "h")) == 2
    assert len([n for n in nodes.values() if n.get("shape") == "box"]) == 4    # x, h, and the two roots


def test_a_leaf_alone_and_bad_arguments():
    nodes, edges = parse_dot(viz.to_dot(Tensor(np.ones(2), name="lone")))
    assert [a["label"] for a in nodes.values()] == ["lone\n(2,) float64"] and edges == []
    with pytest.raises(TypeError, match="Tensor"):
        viz.to_dot(np.ones(2))
    with pytest.raises(TypeError, match="Tensor"):
        viz.to_dot([])


def test_names_are_escaped():
    x = Tensor(np.ones(2), requires_grad=True, name='say "hi" \\ bye')
    nodes, _ = parse_dot(viz.to_dot(x.sum()))
    assert by_label(nodes, 'say "hi" \\ bye (parameter)')


def test_long_chain_needs_no_recursion():
    x = Tensor(np.array(1.0), requires_grad=True)
    y = x
    n = 3 * sys.getrecursionlimit()
    for _ in range(n):
        y = y * 1.0
    nodes, edges = parse_dot(viz.to_dot(y))
    assert sum(1 for a in nodes.values() if a["label"] == "mul") == n
    assert len(edges) == 3 * n                               # tensor, number -> mul -> tensor


# ----- draw -------------------------------------------------------------------------------------

def test_draw_without_graphviz_writes_dot_and_says_how_to_render(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    loss, _ = neuron()
    written = viz.draw(loss, tmp_path / "pics" / "neuron.svg")
    assert written == tmp_path / "pics" / "neuron.dot"
    assert written.read_text() == viz.to_dot(loss)
    assert not (tmp_path / "pics" / "neuron.svg").exists()
    message = capsys.readouterr().out
    assert "apt-get install graphviz" in message
    assert f"dot -Tsvg {written} -o {tmp_path / 'pics' / 'neuron.svg'}" in message
    assert [p.name for p in (tmp_path / "pics").iterdir()] == ["neuron.dot"]   # no temporary left


def test_draw_dot_suffix_writes_text_even_with_graphviz(tmp_path, capsys):
    loss, _ = neuron()
    written = viz.draw(loss, tmp_path / "g.dot", show_values=True)
    assert written == tmp_path / "g.dot" and written.read_text() == viz.to_dot(loss, show_values=True)
    assert capsys.readouterr().out == ""


def test_draw_refuses_unknown_formats(tmp_path):
    loss, _ = neuron()
    with pytest.raises(ValueError, match=r"\.svg.*\.png"):
        viz.draw(loss, tmp_path / "graph.jpeg")


def fake_dot(tmp_path, script):
    path = tmp_path / "fake-dot"
    path.write_text(f"#!{sys.executable}\n{script}")
    path.chmod(0o755)
    return str(path)


def test_draw_passes_the_dot_text_and_format_to_graphviz(tmp_path, monkeypatch):
    # a stand-in for `dot` that echoes its arguments and input, so the plumbing is tested everywhere
    script = "import sys; sys.stdout.write(' '.join(sys.argv[1:]) + '\\n' + sys.stdin.read())"
    monkeypatch.setattr(viz.shutil, "which", lambda name: fake_dot(tmp_path, script))
    loss, _ = neuron()
    written = viz.draw(loss, tmp_path / "out" / "n.png")
    assert written == tmp_path / "out" / "n.png"
    assert written.read_text() == "-Tpng\n" + viz.to_dot(loss)
    assert sorted(p.name for p in written.parent.iterdir()) == ["n.png"]


def test_draw_reports_a_graphviz_failure_and_leaves_no_file(tmp_path, monkeypatch):
    script = "import sys; sys.stderr.write('syntax error in line 3'); sys.exit(1)"
    monkeypatch.setattr(viz.shutil, "which", lambda name: fake_dot(tmp_path, script))
    loss, _ = neuron()
    with pytest.raises(RuntimeError, match="syntax error in line 3"):
        viz.draw(loss, tmp_path / "out" / "n.svg")
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.skipif(shutil.which("dot") is None,
                    reason="Graphviz's dot is not installed (apt-get install graphviz); the no-dot path is tested")
@pytest.mark.parametrize("suffix, magic", [(".svg", b"<svg"), (".png", b"\x89PNG")])
def test_draw_renders_with_graphviz(tmp_path, suffix, magic):
    loss, _ = neuron()
    written = viz.draw(loss, tmp_path / f"neuron{suffix}", show_values=True, show_grads=True)
    data = written.read_bytes()
    assert written.suffix == suffix and magic in data[:400]
    if suffix == ".svg":
        assert b"sigmoid" in data and b"w (parameter)" in data


# ----- python -m tinygrad_ae graph ----------------------------------------------------------------

LECTURE_NAMES = {"x (input)", "W (parameter)", "b (parameter)", "a1", "h", "W* (parameter)",
                 "c (parameter)", "a2", "x_hat", "L"}


def test_graph_command_draws_the_lecture_autoencoder(tmp_path, capsys):
    assert viz.main(["--out", str(tmp_path / "ae.dot"), "--batch", "3", "--hidden", "5", "--grads"]) == 0
    nodes, edges = parse_dot((tmp_path / "ae.dot").read_text())
    firsts = {a["label"].split("\n")[0] for a in nodes.values() if a.get("shape") == "box"}
    assert firsts == LECTURE_NAMES
    W = nodes[by_label(nodes, "W (parameter)")]["label"]
    assert W.startswith("W (parameter)\n(5, 64) float32\ngrad norm ")
    assert float(W.rsplit(" ", 1)[1]) > 0
    assert by_label(nodes, "x (input)") and "(3, 64)" in nodes[by_label(nodes, "x (input)")]["label"]
    assert re.search(r"wrote .*ae\.dot \(loss L = \d+\.\d+ on a batch of 3\)", capsys.readouterr().out)


def test_graph_command_linear_decoder_and_bad_arguments(tmp_path, capsys):
    assert viz.main(["--out", str(tmp_path / "ae.dot"), "--decoder", "linear", "--tied"]) == 0
    nodes, _ = parse_dot((tmp_path / "ae.dot").read_text())
    firsts = {a["label"].split("\n")[0] for a in nodes.values() if a.get("shape") == "box"}
    assert "W* (parameter)" not in firsts and {"W (parameter)", "h", "x_hat", "L"} <= firsts
    with pytest.raises(SystemExit):
        viz.main(["--batch", "0", "--out", str(tmp_path / "x.dot")])
    assert "--batch" in capsys.readouterr().err


def test_graph_command_runs_as_a_module(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tinygrad_ae.viz", "--out", str(tmp_path / "g.dot")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "x_hat" in (tmp_path / "g.dot").read_text()
