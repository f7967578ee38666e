"""Years side by side (lianjian/threads.py): ``each_year`` runs ``workers`` items at the same time,
never more, returns the results in the items' order, starts nothing after a failure and raises it;
``$LIANJIAN_PARALLEL_YEARS`` sets the number (a bad value is one line naming the variable)."""

import threading
import time

import pytest

from lianjian.errors import FatalError
from lianjian.threads import WORKERS_ENV, each_year, year_workers


def test_two_years_run_at_the_same_time_never_three_and_come_back_in_order():
    both = threading.Barrier(2, timeout=10)  # passes only when two items run at the same time
    lock = threading.Lock()
    running, most = [0], [0]

    def work(year):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        if year in (2021, 2022):
            both.wait()
        time.sleep(0.01 * (2026 - year))  # later years end first
        with lock:
            running[0] -= 1
        return year * 10

    years = list(range(2021, 2027))
    assert each_year(work, years, workers=2) == [y * 10 for y in years]
    assert most[0] == 2


def test_one_worker_is_one_after_the_other_in_the_callers_thread():
    names = []
    each_year(lambda y: names.append(threading.current_thread().name), [1, 2, 3], workers=1)
    assert set(names) == {threading.current_thread().name}


def test_a_failure_is_raised_and_nothing_starts_after_it():
    started = []

    def work(year):
        started.append(year)
        if year == 2:
            raise ValueError("year 2")
        time.sleep(0.05)
        return year

    with pytest.raises(ValueError, match="year 2"):
        each_year(work, [1, 2, 3, 4, 5, 6], workers=2)
    assert len(started) < 6, started


def test_the_environment_sets_the_number(monkeypatch):
    monkeypatch.setenv(WORKERS_ENV, "1")
    assert year_workers() == 1
    monkeypatch.setenv(WORKERS_ENV, "3")
    assert year_workers() == 3
    monkeypatch.delenv(WORKERS_ENV)
    assert 1 <= year_workers() <= 2
    monkeypatch.setenv(WORKERS_ENV, "two")
    with pytest.raises(FatalError, match=WORKERS_ENV):
        year_workers()
