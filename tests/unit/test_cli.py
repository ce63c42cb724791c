from __future__ import annotations

import subprocess
import sys

import pytest

from lpms.cli import main

COMMANDS = [[], ["demo"], ["db"], ["db", "upgrade"], ["db", "downgrade"], ["db", "current"], ["db", "check"],
            ["import"], ["export"]]


@pytest.mark.parametrize("words", COMMANDS, ids=lambda w: " ".join(w) or "lpms")
def test_every_command_describes_itself(words: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([*words, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: lpms")
    assert len(out.splitlines()) > 3


@pytest.mark.parametrize("words", [["bogus"], ["import"], ["db", "sideways"], ["demo", "--colour"]])
def test_wrong_argument_exits_2_with_one_line(words: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(words) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("lpms")
    assert "Traceback" not in err


def test_console_script_reports_a_wrong_argument_without_traceback() -> None:
    proc = subprocess.run([sys.executable, "-m", "lpms", "import"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "lpms import: the following arguments are required: DIR"
