"""Random faults for the test servers, so that playbooks can be run under faults without writing Python
(issue #17): a share of requests is dropped before it is handled, carried out and then left without a reply,
carried out and then answered with a proxy's error status (pveproxy's 596, a reverse proxy's 502 or 504), or
held without an answer for a while and then dropped (a hung server, as a client with a timeout meets it).

Seeded: the same seed and the same requests give the same faults, so a failing run can be repeated.
On the command line of both servers: ``--faults drop=0.05,lose=0.02,hang=0.02,hang-secs=3,seed=7``, and
``--faults status=0.05,status-codes=596:502,methods=POST:PUT`` (the status codes one is drawn from, each
server's own when not given; the methods whose requests may be hit, all when not given).
"""

from __future__ import annotations

import argparse
import random
import threading
from collections import Counter
from dataclasses import dataclass, field

KINDS = ("drop", "lose", "hang", "status")
NAMES = ("drop", "lose", "hang", "status", "hang_secs", "seed", "status_codes", "methods")


@dataclass
class RandomFaults:
    drop: float = 0.0
    lose: float = 0.0
    hang: float = 0.0
    # Carried out, then answered with one of status_codes (the server's own when empty) instead of the reply.
    status: float = 0.0
    hang_secs: float = 5.0
    seed: int = 0
    status_codes: tuple[int, ...] = ()
    # Only requests of these methods may be hit (all when empty).
    methods: tuple[str, ...] = ()
    counts: Counter = field(default_factory=Counter)

    def __post_init__(self):
        shares = [self.drop, self.lose, self.hang, self.status]
        if any(share < 0 for share in shares) or sum(shares) > 1:
            raise ValueError(f"fault shares must be 0 or more and add up to at most 1, got {shares}")
        if self.hang_secs < 0:
            raise ValueError(f"hang-secs must be 0 or more, got {self.hang_secs}")
        if any(not 500 <= code <= 599 for code in self.status_codes):
            raise ValueError(f"status-codes must be 5xx codes, got {list(self.status_codes)}")
        self.methods = tuple(method.upper() for method in self.methods)
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self.enabled = True

    @classmethod
    def parse(cls, text):
        """RandomFaults from ``drop=0.05,lose=0.02,hang=0.02,status=0.01,hang-secs=3,seed=7`` plus
        ``status-codes=596:502`` and ``methods=POST:PUT`` (any of them, in any order)."""
        values: dict = {}
        for part in filter(None, (piece.strip() for piece in text.split(","))):
            name, equals, value = part.partition("=")
            name = name.strip().replace("-", "_")
            if not equals or name not in NAMES:
                raise ValueError("--faults takes drop=, lose=, hang=, status=, hang-secs=, seed=, status-codes= and "
                                 f"methods=, got {part!r}")
            try:
                if name == "methods":
                    values[name] = tuple(filter(None, value.strip().split(":")))
                elif name == "status_codes":
                    values[name] = tuple(int(code) for code in value.split(":"))
                else:
                    values[name] = int(value) if name == "seed" else float(value)
            except ValueError:
                raise ValueError(f"--faults: {name} must be a number, got {value!r}") from None
        return cls(**values)

    def pick(self, method=None):
        """The fault for the next request ('drop', 'lose', 'hang', 'status'), or None for a plain answer; a request
        whose method is not one of `methods` is never hit."""
        if not self.enabled or (self.methods and method not in self.methods):
            return None
        with self._lock:
            draw = self._rng.random()
        for kind, share in zip(KINDS, (self.drop, self.lose, self.hang, self.status), strict=True):
            if draw < share:
                with self._lock:
                    self.counts[kind] += 1
                return kind
            draw -= share
        return None

    def status_code(self, default_codes):
        """The status to answer a 'status' fault with: one of status_codes, else of the server's default_codes."""
        codes = self.status_codes or tuple(default_codes)
        with self._lock:
            return codes[self._rng.randrange(len(codes))]


def add_faults_option(parser):
    """--faults on a test server's command line (argparse), parsed into RandomFaults or None."""
    def faults(text):
        try:
            return RandomFaults.parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    parser.add_argument("--faults", type=faults,
                        metavar="drop=P,lose=P,hang=P,status=P,hang-secs=S,seed=N,status-codes=C:C,methods=M:M",
                        help="random faults: share P of requests dropped unanswered, carried out and then left "
                             "unanswered (lose), held S seconds and dropped (hang), or carried out and then answered "
                             "with one of the status codes C (status; default: 596:502:504 on the Proxmox server, "
                             "502:504 on Guacamole); only requests of methods M when given; seeded")
