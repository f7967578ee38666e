"""The benchmark's ``--paths`` option: ``both`` means both paths, a list keeps its order, anything
else is refused at once instead of reaching a child process as an unknown path."""

import argparse

import pytest

from benchmarks.run import path_list


def test_both_means_the_cli_and_the_daemon_path():
    assert path_list("both") == ["cli", "daemon"]


def test_a_list_keeps_its_order():
    assert path_list("daemon, cli") == ["daemon", "cli"]
    assert path_list("cli") == ["cli"]


@pytest.mark.parametrize("text", ["", "nightly", "cli,both"])
def test_an_unknown_path_is_refused(text):
    with pytest.raises(argparse.ArgumentTypeError):
        path_list(text)
