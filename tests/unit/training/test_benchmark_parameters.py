"""The model benchmark counts the parameters of the paper configuration as its config file sets it."""

from benchmarks.model import parameter_counts


def test_the_paper_configuration_is_counted_beside_internvl3_1b():
    counts = parameter_counts()  # builds on the meta device: shapes only
    assert counts["internvl3_1b_parameters"] == 938_119_296  # InternVL3-1B with its own LM head
    assert 1.0 < counts["parameter_ratio"] < 1.5  # task layers 0-5 of 24 add query modules, heads and the memory
