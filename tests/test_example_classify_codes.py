"""Smoke test of examples/classify_codes.py: it runs with --quick and prints three test accuracies
far above chance (0.1 for ten digits); the quick run gives about 0.95 for each."""
import re

from test_examples import NUMBER, run


def test_classify_codes(tmp_path):
    stdout, _ = run("classify_codes", tmp_path)
    assert "1438 training rows, 359 held-out rows" in stdout
    rows = re.findall(rf"^  (raw pixels|PCA codes|autoencoder codes)\b.*?\s{NUMBER}$", stdout, flags=re.MULTILINE)
    assert [name for name, _ in rows] == ["raw pixels", "PCA codes", "autoencoder codes"], stdout
    for name, accuracy in rows:
        assert 0.8 < float(accuracy) <= 1.0, (name, accuracy)
