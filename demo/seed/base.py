"""Shared pieces of the seed: the day, the evening-heavy hour weights, a game as the
simulation sees it, the per-market tallies, and two small draws."""

import math
import random
from dataclasses import dataclass, field

DAY = 86_400
EVENING = (1, 1, 1, 1, 1, 1, 2, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6, 7, 9, 11, 12, 12, 10, 6)  # by UTC hour


@dataclass
class Game:
    id: int
    provider_id: int
    provider: str
    code: str
    category: str
    rtp: float
    contribution: int


@dataclass
class Tally:
    """What the summary reports, per market."""

    players: int = 0
    depositors: int = 0
    rounds: int = 0
    deposits: int = 0
    deposited: int = 0
    failed_deposits: int = 0
    withdrawals: int = 0
    withdrawn: int = 0
    bets: int = 0
    wins: int = 0
    by_provider: dict = field(default_factory=dict)

    @property
    def ggr(self) -> int:
        return self.bets - self.wins


def geometric(r: random.Random, p: float) -> int:
    """Days until an event of daily probability p (at least 1)."""
    if p >= 1:
        return 1
    return 1 + int(math.log(1.0 - r.random()) / math.log(1.0 - p))


def scrambled(n: int, width: int, alphabet: str) -> str:
    """A unique, random-looking code for n (a bijection on `width` digits)."""
    base = len(alphabet)
    space = base**width
    x = (n * 0x5DEECE66D + 0xB) % space  # odd multiplier: a bijection modulo base**width
    out = []
    for _ in range(width):
        x, d = divmod(x, base)
        out.append(alphabet[d])
    return "".join(out)


PUBLIC_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
