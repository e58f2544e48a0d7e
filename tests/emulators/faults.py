"""Random faults for the test servers, so that playbooks can be run under faults without writing Python
(issue #17): a share of requests is dropped before it is handled, carried out and then left without a reply,
or held without an answer for a while and then dropped (a hung server, as a client with a timeout meets it).

Seeded: the same seed and the same requests give the same faults, so a failing run can be repeated.
On the command line of both servers: ``--faults drop=0.05,lose=0.02,hang=0.02,hang-secs=3,seed=7``.
"""

from __future__ import annotations

import argparse
import random
import threading
from collections import Counter
from dataclasses import dataclass, field

KINDS = ("drop", "lose", "hang")


@dataclass
class RandomFaults:
    drop: float = 0.0
    lose: float = 0.0
    hang: float = 0.0
    hang_secs: float = 5.0
    seed: int = 0
    counts: Counter = field(default_factory=Counter)

    def __post_init__(self):
        shares = [self.drop, self.lose, self.hang]
        if any(share < 0 for share in shares) or sum(shares) > 1:
            raise ValueError(f"fault shares must be 0 or more and add up to at most 1, got {shares}")
        if self.hang_secs < 0:
            raise ValueError(f"hang-secs must be 0 or more, got {self.hang_secs}")
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self.enabled = True

    @classmethod
    def parse(cls, text):
        """RandomFaults from ``drop=0.05,lose=0.02,hang=0.02,hang-secs=3,seed=7`` (any of them, in any order)."""
        values = {}
        for part in filter(None, (piece.strip() for piece in text.split(","))):
            name, equals, value = part.partition("=")
            name = name.strip().replace("-", "_")
            if not equals or name not in ("drop", "lose", "hang", "hang_secs", "seed"):
                raise ValueError(f"--faults takes drop=, lose=, hang=, hang-secs= and seed=, got {part!r}")
            try:
                values[name] = int(value) if name == "seed" else float(value)
            except ValueError:
                raise ValueError(f"--faults: {name} must be a number, got {value!r}") from None
        return cls(**values)

    def pick(self):
        """The fault for the next request ('drop', 'lose', 'hang'), or None for a plain answer."""
        if not self.enabled:
            return None
        with self._lock:
            draw = self._rng.random()
        for kind, share in zip(KINDS, (self.drop, self.lose, self.hang), strict=True):
            if draw < share:
                with self._lock:
                    self.counts[kind] += 1
                return kind
            draw -= share
        return None


def add_faults_option(parser):
    """--faults on a test server's command line (argparse), parsed into RandomFaults or None."""
    def faults(text):
        try:
            return RandomFaults.parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    parser.add_argument("--faults", type=faults, metavar="drop=P,lose=P,hang=P,hang-secs=S,seed=N",
                        help="random faults: share P of requests dropped unanswered, carried out and then left "
                             "unanswered (lose), or held S seconds and dropped (hang); seeded")
