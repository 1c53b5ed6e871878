"""docs/lecture.md's map of the next lectures (the VAE and MADE): one row per formula, each naming the code
that implements it and the test that checks it, every name resolving (test_lecture_doc.py's resolver)."""
import pytest

from test_lecture_doc import CODE_LINK, doc_text, resolve

HEADING = "## The next lectures: the variational autoencoder and MADE"
CLAIMS = ["the ELBO", "the KL closed form", "its gradient", "the reparameterization trick", "MADE's masks",
          "the autoregressive property", "MADE's likelihood", "ancestral sampling"]


def rows():
    section = doc_text().split(HEADING, 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    assert [c.strip() for c in lines[0].strip("|").split("|")] == ["claim", "formula", "in code", "checked by"]
    table = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        assert len(cells) == 4, f"row does not have 4 cells: {line}"
        table[cells[0]] = tuple(cells[1:])
    return table


def test_every_formula_of_the_next_lectures_has_a_row():
    assert list(rows()) == CLAIMS


@pytest.mark.parametrize("claim", CLAIMS)
def test_each_formula_names_code_and_a_test_that_exist(claim):
    formula, code, tests = rows()[claim]
    assert formula
    code_links, test_links = CODE_LINK.findall(code), CODE_LINK.findall(tests)
    assert code_links and all(text.startswith("tinygrad_ae/") and "::" in text for text, _ in code_links), code
    assert test_links and all(text.startswith("tests/") and "::test_" in text for text, _ in test_links), tests
    for text, target in code_links + test_links:
        resolve(text, target)
