"""``flowsim app`` serves the page on 127.0.0.1 by default, from any folder."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from flowsim.appcli import SCRIPT, streamlit_command
from flowsim.cli import main as cli

from .conftest import SCENARIOS

pytest.importorskip("streamlit")


def test_the_command_runs_the_packaged_page_on_this_machine_only() -> None:
    cmd = streamlit_command("127.0.0.1", 8501)
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4] == str(SCRIPT)
    assert SCRIPT.exists()
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"


def test_an_empty_scenarios_folder_is_refused(tmp_path: Path, capsys) -> None:
    assert cli(["app", "--scenarios", str(tmp_path)]) == 2
    assert "no scenario files" in capsys.readouterr().err


def test_flowsim_app_serves_the_page(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).with_name("flowsim")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "flowsim.cli"]
    proc = subprocess.Popen([*cmd, "app", "--port", str(port), "--scenarios", str(SCENARIOS)],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health",
                                            timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                assert time.monotonic() < deadline, "flowsim app did not answer in 60 s"
                time.sleep(0.3)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert b"<html" in r.read().lower()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if proc.stderr:
            proc.stderr.close()
