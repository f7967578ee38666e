"""Synthetic resident identity numbers (GB 11643-1999): 6-digit area, birth date, sequence, check digit.

The area code is the province's two digits followed by ``99`` and two digits: prefecture 99 is not
assigned by GB/T 2260, so no generated number can be a real person's.
"""

from __future__ import annotations

import numpy as np

WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK = np.array(list("10X98765432"))


def check_digits(first17: np.ndarray) -> np.ndarray:
    """Check characters for an array of 17-digit strings (GB 11643: sum of digit·weight mod 11)."""
    digits = np.frombuffer(np.asarray(first17, dtype="S17").tobytes(), dtype=np.uint8).reshape(-1, 17) - ord("0")
    return CHECK[(digits.astype(np.int64) @ WEIGHTS) % 11]


def id_numbers(rng: np.random.Generator, province_digits: str, birth_days: np.ndarray, male: np.ndarray) -> np.ndarray:
    """Valid synthetic 18-character numbers for people born on ``birth_days`` (days since 1970-01-01)."""
    n = len(birth_days)
    area = int(province_digits) * 10_000 + 9_900 + rng.integers(1, 99, size=n)
    birth = np.asarray(birth_days, dtype="datetime64[D]").astype(str)
    ymd = np.char.replace(birth.astype("U10"), "-", "").astype(np.int64)
    seq = rng.integers(0, 500, size=n) * 2 + np.where(male, 1, 0)  # odd: male, even: female
    first17 = np.char.mod("%017d", area.astype(np.int64) * 10**11 + ymd * 1000 + seq)
    return np.char.add(first17, check_digits(first17))


def is_valid(number: str) -> bool:
    """True when ``number`` is 18 characters with the right check digit (for tests)."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    return str(check_digits(np.array([number[:17]]))[0]) == number[17].upper()
