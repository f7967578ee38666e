"""Generator scales (docs/contract.md "Commands"): per-year sizes and the shape of the unit tree.

A profile fixes *proportions* (staff per unit, cases and reports per active person); talks and
reviews follow from the R1 obligations and review practice the generator simulates, which the
contract table's numbers match (≈ 5 talks and ≈ 7.7 reviews per active person per year). A custom
size (``generate(..., profile="national", units=40)``) keeps the profile's proportions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Profile:
    name: str
    units: int
    staff: int  # active staff per year (whole dataset)
    cases: int  # cases accepted per year
    talks: int  # expected talks per year (emerges from the simulation)
    reviews: int  # expected review rows per year (emerges from the simulation)
    reports: int  # major-matter reports per year
    top: str  # level of the tree's root: province | city | county
    level_weights: tuple[float, float, float]  # relative staff of a province, city, county unit
    rich_formats: bool = False  # demo: Chinese headers, labels, GB18030, XLSX, monthly drops, bad rows
    scenarios: bool = False  # demo: the rare-path scenarios of lianjian.generate.scenarios

    @property
    def staff_per_unit(self) -> float:
        return self.staff / self.units

    @property
    def cases_per_staff(self) -> float:
        return self.cases / self.staff

    @property
    def talks_per_staff(self) -> float:
        return self.talks / self.staff

    @property
    def reviews_per_staff(self) -> float:
        return self.reviews / self.staff

    @property
    def reports_per_staff(self) -> float:
        return self.reports / self.staff

    def resized(self, units: int) -> "Profile":
        """The same proportions for ``units`` units."""
        f = units / self.units
        return replace(
            self,
            name=f"{self.name}@{units}",
            units=units,
            staff=round(self.staff * f),
            cases=round(self.cases * f),
            talks=round(self.talks * f),
            reviews=round(self.reviews * f),
            reports=round(self.reports * f),
        )


_BIG = (4.0, 1.7, 1.0)

PROFILES: dict[str, Profile] = {
    "demo": Profile("demo", 3, 90, 1_400, 450, 700, 60, "province", (1.6, 1.2, 1.0), rich_formats=True, scenarios=True),
    "county": Profile("county", 1, 70, 1_100, 350, 550, 50, "county", _BIG),
    "city": Profile("city", 12, 900, 14_000, 4_500, 7_000, 600, "city", _BIG),
    "province": Profile("province", 120, 9_000, 140_000, 45_000, 70_000, 6_000, "province", _BIG),
    "national": Profile("national", 3_600, 260_000, 4_000_000, 1_300_000, 2_000_000, 180_000, "province", _BIG),
}
