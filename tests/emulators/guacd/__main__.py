"""`python -m tests.emulators.guacd --port P [--tls-cert C --tls-key K] [--config FILE]`."""

from __future__ import annotations

import sys

from tests.emulators.guacd.guacd import main

sys.exit(main())
