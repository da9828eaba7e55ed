"""Made-up citizens: a name, a valid resident ID number (GB 11643) of their city and a phone, drawn from a seed."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from shared.pii import check_digit

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英")


def person(seed: int, n: int, city: str) -> dict[str, Any]:
    """The `n`-th citizen of a seed: the same person for the same (seed, n, city)."""
    rng = random.Random(f"{seed}:person:{n}:{city}")
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))
    first17 = f"{city}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return {
        "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
        "id_number": first17 + check_digit(first17),
        "phone": f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
    }
