"""Fixtures of the trading suite; the harness lives in trading_testkit.py."""

from __future__ import annotations

import sys
from pathlib import Path

# importlib mode adds no test folder to sys.path; the testkit lives beside this file.
sys.path.insert(0, str(Path(__file__).parent))
