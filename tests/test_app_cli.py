"""``flowsim app`` serves the page on 127.0.0.1 by default, from any folder."""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

import pytest

from flowsim.appcli import SCRIPT, streamlit_command
from flowsim.cli import main as cli

from .served import free_port, served
from .shared import SCENARIOS

pytest.importorskip("streamlit")


def test_the_command_runs_the_packaged_page_on_this_machine_only() -> None:
    cmd = streamlit_command("127.0.0.1", 8501)
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4] == str(SCRIPT)
    assert SCRIPT.exists()
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"


def test_an_empty_scenarios_folder_is_refused(tmp_path: Path, capsys) -> None:
    assert cli(["app", "--scenarios", str(tmp_path)]) == 2
    assert "no scenario files" in capsys.readouterr().err


@pytest.mark.slow
def test_flowsim_app_serves_the_page(tmp_path: Path) -> None:
    port = free_port()
    exe = Path(sys.executable).with_name("flowsim")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "flowsim.cli"]
    cmd += ["app", "--port", str(port), "--scenarios", str(SCENARIOS)]
    with (
        served(cmd, port, tmp_path, tmp_path / "app.log") as url,
        urllib.request.urlopen(f"{url}/", timeout=5) as r,
    ):
        assert b"<html" in r.read().lower()
