"""The `best` ordering's arithmetic: the Wilson score lower bound at 95%."""

import pytest

from discussions.ranking import wilson_lower_bound


@pytest.mark.parametrize(
    "up, down, expected",
    [
        (0, 0, 0.0),
        # Worked by hand from (p + z²/2n - z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), z = 1.96.
        (1, 0, 0.2065433),  # = 1 / (1 + z²)
        (0, 1, 0.0),
        (5, 5, 0.2365896),
        (100, 0, 0.9630052),  # = 1 / (1 + z²/100)
        (12, 4, 0.5050123),
    ],
)
def test_known_values(up, down, expected):
    assert wilson_lower_bound(up, down) == pytest.approx(expected, abs=1e-6)


def test_more_evidence_of_the_same_share_ranks_higher():
    assert wilson_lower_bound(90, 10) > wilson_lower_bound(9, 1) > wilson_lower_bound(1, 0)


def test_stays_within_the_unit_interval():
    for up in range(0, 30):
        for down in range(0, 30):
            assert 0.0 <= wilson_lower_bound(up, down) <= 1.0
