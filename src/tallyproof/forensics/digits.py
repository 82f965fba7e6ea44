"""Last-digit tests (Beber & Scacco, Political Analysis 2012): in honest counts of ten or
more the last digit is close to uniform; invented numbers favour some digits, 0 and 5 most."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest, chisquare


@dataclass(frozen=True)
class LastDigitTest:
    counts: np.ndarray  # how many numbers end in 0..9
    n: int
    chi2: float
    p_value: float  # uniformity of the last digit
    share_0_5: float  # numbers ending in 0 or 5 (0.2 expected)
    p_value_0_5: float  # one-sided: more 0s and 5s than chance


def last_digit_test(values: np.ndarray, min_value: int = 10) -> LastDigitTest:
    """Test the last digits of counts of at least `min_value` (smaller ones are not uniform
    even when honest)."""
    kept = values[values >= min_value].astype(np.int64)
    counts = np.bincount(kept % 10, minlength=10)
    n = int(kept.size)
    if n == 0:
        return LastDigitTest(counts, 0, 0.0, 1.0, 0.0, 1.0)
    chi2, p = chisquare(counts)
    heaped = int(counts[0] + counts[5])
    p05 = binomtest(heaped, n, 0.2, alternative="greater").pvalue
    return LastDigitTest(counts, n, float(chi2), float(p), heaped / n, float(p05))
