"""The unit tree: 省院 → 市院 → 县（区）院, with unit codes such as ``SD``, ``SD-03``, ``SD-03-07``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lianjian.generate import names
from lianjian.generate.profiles import Profile
from lianjian.generate.seeds import rng_for

#: Share of city-level units among the non-provincial ones (≈ 372 of 3,569 nationally).
CITY_SHARE = 0.104
#: Units per province nationally (3,600 / 31).
UNITS_PER_PROVINCE = 116


@dataclass(frozen=True)
class Unit:
    index: int
    code: str
    name: str
    level: str  # province | city | county
    parent: str | None
    province_digits: str  # GB/T 2260 province code (for synthetic id numbers)
    staff: int  # target active staff


def _counts(profile: Profile) -> tuple[int, int, int]:
    n = profile.units
    if profile.top == "county":
        return 0, 0, n
    if profile.top == "city":
        return 0, 1, n - 1
    n_prov = min(len(names.PROVINCES), max(1, round(n / UNITS_PER_PROVINCE)))
    rest = n - n_prov
    n_city = min(rest, max(1, round(rest * CITY_SHARE))) if rest else 0
    return n_prov, n_city, rest - n_city


def build_units(profile: Profile, seed: int) -> list[Unit]:
    """Every unit of the profile, parents before children, staff targets summing to profile.staff."""
    rng = rng_for(seed, "units")
    n_prov, n_city, n_county = _counts(profile)
    rows: list[tuple[str, str, str, str | None, str]] = []  # code, name, level, parent, province digits
    if profile.scenarios and (n_prov, n_city, n_county) == (1, 1, 1):
        rows = [(c, nm, lvl, p, "37") for (c, nm, lvl), p in zip(names.DEMO_UNITS, (None, "SD", "SD-JN"))]
    else:
        provs = [names.PROVINCES[i] for i in range(max(n_prov, 1))]
        for digits, code, pname in provs[:n_prov]:
            rows.append((code, f"{pname}人民检察院", "province", None, digits))
        cities = []
        for k in range(n_city):
            digits, pcode, _ = provs[k % len(provs)]
            code = f"{pcode}-{k // len(provs) + 1:02d}"
            cname = names.place_name(rng) + "市"
            cities.append((code, cname, digits))
            rows.append((code, f"{cname}人民检察院", "city", pcode if n_prov else None, digits))
        for j in range(n_county):
            if cities:
                ccode, cname, digits = cities[j % len(cities)]
                code = f"{ccode}-{j // len(cities) + 1:02d}"
            else:
                digits, ccode, cname = names.PROVINCES[0][0], None, ""
                code = f"{names.PROVINCES[0][1]}-00-{j + 1:02d}"
            suffix = names.COUNTY_SUFFIX[rng.integers(len(names.COUNTY_SUFFIX))]
            rows.append((code, f"{cname}{names.place_name(rng)}{suffix}人民检察院", "county", ccode, digits))
    w = {"province": profile.level_weights[0], "city": profile.level_weights[1], "county": profile.level_weights[2]}
    raw = np.array([w[r[2]] for r in rows]) * rng.uniform(0.85, 1.15, size=len(rows))
    staff = np.maximum(np.round(raw / raw.sum() * profile.staff), 20).astype(int)
    return [Unit(i, c, nm, lvl, p, d, int(s)) for i, ((c, nm, lvl, p, d), s) in enumerate(zip(rows, staff))]
