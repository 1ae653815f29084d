"""Pure ranking arithmetic, free of Django so it can be tested and reused anywhere."""

import math

Z_95 = 1.96


def wilson_lower_bound(upvotes: int, downvotes: int, z: float = Z_95) -> float:
    """Lower bound of the Wilson score interval for the share of upvotes; 0 with no votes."""
    n = upvotes + downvotes
    if n <= 0:
        return 0.0
    p = upvotes / n
    z2 = z * z
    centre = p + z2 / (2 * n)
    margin = z * math.sqrt((p * (1 - p) + z2 / (4 * n)) / n)
    bound = (centre - margin) / (1 + z2 / n)
    # Rounding can dip a hair below 0 for p = 0; the stored column is constrained to [0, 1].
    return min(1.0, max(0.0, bound))


def controversy(upvotes: int, downvotes: int) -> float:
    """Many votes, evenly split: (up + down) ^ (min / max); 0 when either side has none."""
    if upvotes <= 0 or downvotes <= 0:
        return 0.0
    return float((upvotes + downvotes) ** (min(upvotes, downvotes) / max(upvotes, downvotes)))


MIN_VOTES_PER_STANCE = 3


def bridging(votes_by_stance: dict, stances: list[str]) -> float:
    """Smallest Wilson bound over every stance's votes; 0 while any stance has fewer than 3 votes."""
    if not stances:
        return 0.0
    bounds = []
    for stance in stances:
        up, down = votes_by_stance.get(stance, (0, 0))
        if up + down < MIN_VOTES_PER_STANCE:
            return 0.0
        bounds.append(wilson_lower_bound(up, down))
    return min(bounds)
