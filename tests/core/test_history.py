"""Bounded series: bulk appends behave exactly like one-by-one appends, thinning included."""

import numpy as np
import pytest

from core.history import Series


def filled_by_append(steps, values, capacity):
    s = Series(capacity)
    for step, value in zip(steps, values, strict=True):
        s.append(step, value)
    return s


@pytest.mark.parametrize("chunks", [[37], [1, 5, 31], [9, 0, 9, 9, 10], [3] * 12 + [1]])
def test_extend_equals_appending_one_by_one(chunks):
    capacity = 8
    rng = np.random.default_rng(0)
    total = sum(chunks)
    steps, values = np.arange(1, total + 1) * 3, rng.standard_normal(total)
    bulk, a = Series(capacity), 0
    for size in chunks:
        bulk.extend(steps[a : a + size], values[a : a + size])
        a += size
    one_by_one = filled_by_append(steps, values, capacity)
    assert len(bulk) == len(one_by_one) <= capacity
    np.testing.assert_array_equal(bulk.steps, one_by_one.steps)
    np.testing.assert_array_equal(bulk.values, one_by_one.values)
    assert bulk.steps[-1] == steps[-1] and bulk.last() == values[-1]


def test_extend_accepts_lists_and_rejects_mismatched_lengths():
    s = Series(4)
    s.extend([1, 2], [0.5, 0.25])
    assert s.steps.tolist() == [1, 2] and s.values.tolist() == [0.5, 0.25]
    with pytest.raises(ValueError, match="2 steps but 1 values"):
        s.extend([3, 4], [1.0])


@pytest.mark.parametrize("later", ["append", "extend", "clear"])
def test_a_frozen_copy_keeps_its_points_whatever_the_series_does_next(later):
    s = Series(capacity=8)
    s.extend(list(range(1, 9)), [float(v) for v in range(1, 9)])  # full: the next one thins
    copy = s.frozen_copy()
    steps, values = copy.steps, copy.values
    if later == "append":
        for step in range(9, 40):
            s.append(step, -1.0)
    elif later == "extend":
        s.extend(list(range(9, 40)), [-1.0] * 31)
    else:
        s.clear()
        s.extend([1, 2], [-1.0, -1.0])
    np.testing.assert_array_equal(copy.steps, steps)
    np.testing.assert_array_equal(copy.values, values)
    assert len(copy) == 8 and s.steps[-1] != steps[-1] or later == "clear"
    with pytest.raises((ValueError, IndexError)):
        copy.append(100, 0.0)
    with pytest.raises(ValueError):
        copy.clear()


def test_at_reads_the_value_recorded_last_at_or_before_a_step():
    from core.history import SnapshotsOverTime

    series = Series(8)
    series.extend([10, 20, 30], [1.0, 2.0, 3.0])
    assert series.at(5) is None
    assert [series.at(s) for s in (10, 19, 20, 29, 30, 99)] == [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    snaps = SnapshotsOverTime(4)
    assert snaps.at(10) is None
    for step in (0, 200, 400):
        snaps.append(step, f"histograms at {step}")
    assert snaps.at(399) == (200, "histograms at 200")
    assert snaps.at(400) == (400, "histograms at 400")


def test_the_peak_survives_thinning_and_frozen_copies_and_clear_forgets_it():
    s = Series(8)
    s.append(2, 1.0)  # (thinning always keeps the first point)
    s.append(3, 5.0)  # the spike, then many smaller values: thinning drops step 3 soon
    s.extend(list(range(4, 200)), [1.0] * 196)
    s.append(200, float("nan"))
    assert 3 not in s.steps
    assert s.peak() == (5.0, 3)
    copy = s.frozen_copy()
    s.append(201, 7.0)
    assert copy.peak() == (5.0, 3) and s.peak() == (7.0, 201)
    s.clear()
    assert s.peak() is None
    s.append(1, float("inf"))
    assert s.peak() is None  # only finite values count


@pytest.mark.parametrize("capacity", [8, 9, 100, 2000])
def test_a_long_run_keeps_an_even_resolution_over_all_of_it(capacity):
    """However long the run, every stretch of it keeps points (no part collapses to one point),
    the first and the newest points stay, and the newest ones are at full resolution."""
    total = 50 * capacity + 3
    s = Series(capacity)
    s.extend(np.arange(1, total + 1), np.zeros(total))
    steps = s.steps
    assert len(steps) <= capacity and steps[0] == 1 and steps[-1] == total
    assert np.diff(steps).max() <= 8 * total / capacity
    assert np.diff(steps[-3:]).tolist() == [1, 1]  # appended since the last thinning


def test_histograms_over_time_thin_the_same_way():
    from core.history import SnapshotsOverTime

    snaps = SnapshotsOverTime(10)
    for step in range(1, 501):
        snaps.append(step, step)
    assert len(snaps) <= 10 and snaps.steps[0] == 1 and snaps.steps[-1] == 500
    assert np.diff(snaps.steps).max() <= 8 * 500 / 10
