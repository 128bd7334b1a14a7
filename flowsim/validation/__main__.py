"""``python -m flowsim.validation``: the same as ``flowsim validate-model``."""

from __future__ import annotations

import sys

from ..cli import main

if __name__ == "__main__":
    sys.exit(main(["validate-model", *sys.argv[1:]]))
