"""The arguments of ``flowyml step-runner``, as launchers write them and as people mistype
them."""

from __future__ import annotations

import pytest

from flowyml.execution.step_runner import main, parse_args, step_runner_args

_REQUIRED = {"--run-id": "r1", "--group": "g", "--artifact-store": "file:///tmp/store"}


def test_what_a_launcher_writes_is_read_back():
    argv = step_runner_args("r1", "g", "file:///tmp/store")
    assert parse_args(argv[1:]) == _REQUIRED


def test_options_take_their_value_after_an_equals_sign_or_as_the_next_argument():
    argv = ["--run-id=r1", "--group", "g", "--artifact-store=file:///a=b", "--steps", "x,y"]
    assert parse_args(argv) == {**_REQUIRED, "--artifact-store": "file:///a=b", "--steps": "x,y"}


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["--run-id", "r1", "--group", "g"], "required: --artifact-store"),
        ([], "required: --run-id, --group, --artifact-store"),
        (["--run-id", "r1", "--group", "g", "--artifact-store"], "--artifact-store: expected"),
        (["--run-id", "--group", "g"], "--run-id: expected one argument"),
        (["--run", "r1"], "unrecognized argument: --run"),
        (["r1"], "unrecognized argument: r1"),
    ],
)
def test_a_wrong_command_line_names_what_is_wrong(argv, error, capsys):
    found = parse_args(argv)
    assert isinstance(found, str) and error in found
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: flowyml step-runner --run-id ID") and error in err
