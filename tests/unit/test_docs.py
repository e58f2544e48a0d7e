"""Every module's documentation parses and renders (ansible-doc), with its examples and return values."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
MODULES = sorted(path.stem for path in (REPO / "plugins" / "modules").glob("*.py")
                 if subprocess.run(["git", "ls-files", "--error-unmatch", str(path)], cwd=REPO,
                                   capture_output=True, check=False).returncode == 0)


@pytest.fixture(scope="module")
def docs():
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / "build" / "collections"))
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-doc"), "--json"]
                          + [f"proxgate.core.{name}" for name in MODULES],
                          capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("name", MODULES)
def test_module_documentation_is_complete(docs, name):
    doc = docs[f"proxgate.core.{name}"]
    assert doc["doc"]["version_added"] == "0.1.0"
    assert doc["doc"]["short_description"]
    options = doc["doc"]["options"]
    auth = (("api_url", "api_token_secret", "validate_certs") if name.startswith("proxmox_")
            else ("api_url", "api_username", "api_password", "validate_certs"))
    for option in auth:
        assert option in options, f"{name} lacks the auth doc fragment"
    for option, spec in options.items():
        assert spec.get("description"), f"{name}: option {option} has no description"
    examples = yaml.safe_load(doc["examples"])
    assert examples and all(f"proxgate.core.{name}" in task for task in examples if "name" in task
                            and any(k.startswith("proxgate.core.") for k in task))
    assert doc["return"], f"{name} documents no return values"


def test_docs_pages_are_current():
    """docs/modules/ is generated from the modules' docs: a change to a module's docs needs `make docs`."""
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "docs.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
