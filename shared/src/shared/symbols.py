"""One symbol convention: the consolidated tape's (and Alpaca's) ``BRK.B``.

Providers spell a share class differently (Yahoo ``BRK-B``, others ``BRK/B`` or ``BRK B``);
ingestion stores the canonical form and keeps the provider's spelling as an alias, and every
place that accepts a symbol resolves it with ``canonical_symbol`` first.
"""

from __future__ import annotations

import re

# A 1-5 letter root and a 1-2 letter class, joined by '-', '/' or a space.
CLASS_SEPARATOR = r"^([A-Z]{1,5})[-/ ]([A-Z]{1,2})$"
_CLASS = re.compile(CLASS_SEPARATOR)


def canonical_symbol(text: str) -> str:
    """``BRK-B``, ``brk/b``, ``BRK B`` -> ``BRK.B``; other symbols upper-cased and stripped."""
    return _CLASS.sub(r"\1.\2", text.strip().upper())
