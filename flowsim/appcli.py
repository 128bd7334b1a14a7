"""``flowsim app``: start the browser page (Streamlit) on this machine only, by default.

The page needs the optional ``app`` dependencies (``pip install -e ".[app]"``). It reads
scenarios from ``--scenarios``, else ``./scenarios``, else the repository the package was
installed from in editable mode.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

from .errors import FlowsimError

SCRIPT = Path(__file__).resolve().parent / "_app" / "streamlit_app.py"


def add_app_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sp = sub.add_parser("app", help="open the browser page to compare scenarios (Streamlit)")
    sp.add_argument(
        "--address",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    sp.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    sp.add_argument(
        "--scenarios",
        type=Path,
        metavar="DIR",
        help="folder of scenario files (default ./scenarios)",
    )
    sp.set_defaults(func=cmd_app)


def streamlit_command(address: str, port: int) -> list[str]:
    """The command line that serves the page."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(SCRIPT),
        "--server.address",
        address,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.maxUploadSize",
        "1",
        "--client.toolbarMode",
        "viewer",
        # An exception the page did not catch shows no traceback (nor the server's paths).
        "--client.showErrorDetails",
        "none",
    ]


def cmd_app(args: argparse.Namespace) -> int:
    if find_spec("streamlit") is None or find_spec("altair") is None:
        raise FlowsimError('the app needs Streamlit and Altair: pip install -e ".[app]"')
    env = dict(os.environ)
    if args.scenarios is not None:
        if not (args.scenarios / "baseline.yaml").exists() and not any(
            args.scenarios.glob("*.yaml")
        ):
            raise FlowsimError(f"no scenario files in {args.scenarios}")
        env["FLOWSIM_SCENARIOS"] = str(args.scenarios.resolve())
    print(
        f"flowsim: the page is at http://{args.address}:{args.port} (Ctrl+C stops it)",
        file=sys.stderr,
        flush=True,
    )
    cmd = streamlit_command(args.address, args.port)
    if os.name == "posix":
        # Become the server, so that stopping this process stops the page (no orphan left).
        os.execve(cmd[0], cmd, env)
    return subprocess.call(cmd, env=env)
