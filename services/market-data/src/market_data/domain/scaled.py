"""Exact decimals stored as scaled integers: prices x 1e8, shares x 1e4, market caps x 1e2.

Float inputs (JSON, CSV) are rounded once to the stored scale; every later computation
(market cap = close x shares) is done on the integers, exactly, with half-even rounding.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import numpy.typing as npt

PRICE_DIGITS = 8
SHARES_DIGITS = 4
CAP_DIGITS = 2
# Below 2**53 a float64 holds every integer exactly, so rint(x * 10**d) is the exact
# rounding of the decimal text the float came from (for inputs of <= 15 significant digits).
_FLOAT_EXACT = float(2**53)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class ScaleOverflow(ValueError):
    """A value too large to be stored exactly at its scale."""


def to_scaled(values: FloatArray, digits: int) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    """Scaled integers and a validity mask (False where the input is NaN)."""
    values = np.asarray(values, dtype=np.float64)
    valid = np.isfinite(values)
    scaled = np.rint(np.where(valid, values, 0.0) * 10.0**digits)
    if np.any(np.abs(scaled) >= _FLOAT_EXACT):
        raise ScaleOverflow(f"a value exceeds the exact range at {digits} decimal places")
    return scaled.astype(np.int64), valid


def market_cap_e2(close_e8: IntArray, shares_e4: IntArray) -> IntArray:
    """round_half_even(close x shares) in cents, computed exactly in int64 limbs."""
    a = np.asarray(close_e8, dtype=np.int64)
    b = np.asarray(shares_e4, dtype=np.int64)
    if np.any(a < 0) or np.any(b < 0):
        raise ScaleOverflow("market cap needs non-negative price and shares")
    if np.any(a >= 9 * 10**13) or np.any(b >= 10**15):
        raise ScaleOverflow("price or share count too large for an exact market cap")
    base = np.int64(10**5)
    a1, a0 = np.divmod(a, base)
    b1, b0 = np.divmod(b, base)
    # a*b / 1e10 = a1*b1 + (a1*b0 + a0*b1) / 1e5 + a0*b0 / 1e10
    middle = a1 * b0 + a0 * b1
    m_hi, m_lo = np.divmod(middle, base)
    low = m_lo * base + a0 * b0
    carry, remainder = np.divmod(low, np.int64(10**10))
    quotient = a1 * b1 + m_hi + carry
    half = np.int64(5 * 10**9)
    round_up = (remainder > half) | ((remainder == half) & (quotient % 2 == 1))
    result: IntArray = quotient + round_up.astype(np.int64)
    return result


def to_decimal(scaled: int | None, digits: int) -> Decimal | None:
    if scaled is None:
        return None
    return Decimal(int(scaled)).scaleb(-digits)


def decimal_to_scaled(value: Decimal, digits: int) -> int:
    return int(value.scaleb(digits).to_integral_value())
