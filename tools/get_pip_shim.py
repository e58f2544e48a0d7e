"""Stand-in for the pip bootstrap script ansible-test downloads from a host this network cannot reach.

ansible-test runs it in each fresh sanity venv with pip-install arguments (`pip==X ...`). It installs
Python's bundled pip (ensurepip), then those packages from the package index. ansible-test hides
every pip config file and environment variable from pip, so where the system has a CA bundle, a .pth
file in the venv points pip at it (PIP_CERT): package proxies that re-sign TLS need it. `make sanity`
copies this file to ~/.ansible/test/cache/ only when no real bootstrap script is cached there.
"""

import ensurepip
import os
import site
import subprocess
import sys

GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")
SYSTEM_CA = "/etc/ssl/certs/ca-certificates.crt"

ensurepip.bootstrap(upgrade=True)
if os.path.exists(SYSTEM_CA):
    with open(os.path.join(site.getsitepackages()[0], "proxgate-pip-cert.pth"), "w") as pth:
        pth.write(f"import os; os.environ.setdefault('PIP_CERT', {SYSTEM_CA!r})\n")
    os.environ.setdefault("PIP_CERT", SYSTEM_CA)
arguments = [argument for argument in sys.argv[1:] if argument not in GET_PIP_ONLY]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", *arguments]))
