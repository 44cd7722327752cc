"""Make the bus test kit importable by the tests and by the consumer subprocess script."""

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
