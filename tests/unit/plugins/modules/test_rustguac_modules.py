"""The rustguac modules in-process: documentation matches the argument specs, auth from RUSTGUAC_*, errors
reported with the call, the status, the server's message and the role needed; the key never in a result.

The server is the rustguac emulator in this process, on loopback (HTTP).
"""

from __future__ import annotations

import json

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from ansible_collections.proxgate.core.plugins.doc_fragments.rustguac import ModuleDocFragment
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.module import rustguac_auth_argument_spec
from ansible_collections.proxgate.core.plugins.modules import (
    rustguac_entry,
    rustguac_folder,
    rustguac_group_mapping,
    rustguac_info,
    rustguac_token,
    rustguac_user,
)
from tests.emulators.rustguac import RustguacEmulator

ADMIN_KEY = "rg-unit-admin-key-0123456789"
MODULES = {
    rustguac_folder: rustguac_folder.RustguacFolder,
    rustguac_entry: rustguac_entry.RustguacEntry,
    rustguac_group_mapping: rustguac_group_mapping.RustguacGroupMapping,
    rustguac_user: rustguac_user.RustguacUser,
    rustguac_token: rustguac_token.RustguacToken,
    rustguac_info: rustguac_info.RustguacInfo,
}


@pytest.fixture
def emu():
    server = RustguacEmulator(admin_key=ADMIN_KEY).start()
    yield server
    server.stop()


def run(module_class, args, capsys):
    with patch_module_args(args), pytest.raises(SystemExit):
        module_class().execute()
    return json.loads(capsys.readouterr().out)


def documented(options):
    """name -> (type, default, choices, required) as the docs say."""
    return {name: (spec.get("type", "str"), spec.get("default"), spec.get("choices"), spec.get("required", False))
            for name, spec in options.items()}


def specified(spec):
    return {name: (option.get("type", "str"), option.get("default"), option.get("choices"),
                   option.get("required", False)) for name, option in spec.items()}


def test_doc_fragment_matches_the_auth_spec():
    options = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    assert documented(options) == specified(rustguac_auth_argument_spec())
    assert rustguac_auth_argument_spec()["api_key"]["no_log"] is True


@pytest.mark.parametrize("module", list(MODULES), ids=lambda module: module.__name__.rsplit(".", 1)[1])
def test_module_docs_match_the_argument_spec(module):
    docs = yaml.safe_load(module.DOCUMENTATION)
    assert documented(docs["options"]) == specified(MODULES[module].argument_spec)
    yaml.safe_load(module.EXAMPLES)
    yaml.safe_load(module.RETURN)


def test_auth_from_environment_and_check_mode_writes_nothing(emu, monkeypatch, capsys):
    monkeypatch.setenv("RUSTGUAC_URL", emu.url)
    monkeypatch.setenv("RUSTGUAC_API_KEY", ADMIN_KEY)
    monkeypatch.setenv("RUSTGUAC_API_KEY_HEADER", "x-api-key")
    result = run(rustguac_folder.RustguacFolder, {"name": "ops", "_ansible_check_mode": True}, capsys)
    assert result["changed"] is True and result["folder"]["name"] == "ops"
    assert emu.writes() == [] and emu.requests == [("GET", "/api/addressbook/folders", 200)]
    assert ADMIN_KEY not in json.dumps(result)


def test_403_names_the_call_status_and_role(emu, monkeypatch, capsys):
    viewer = emu.add_api_key(name="v", role="viewer")
    result = run(rustguac_group_mapping.RustguacGroupMapping,
                 {"api_url": emu.url, "api_key": viewer, "oidc_group": "ops", "role": "viewer"}, capsys)
    assert result["failed"] and result["status"] == 403
    assert result["msg"].startswith("GET /admin/group-mappings failed: HTTP 403: ")
    assert result["msg"].endswith("this module needs the admin role; see its notes)")
    assert viewer not in json.dumps(result)


def test_unreachable_server_after_bounded_retries(capsys):
    result = run(rustguac_info.RustguacInfo, {"api_url": "http://127.0.0.1:9", "api_key": ADMIN_KEY,
                                              "gather": ["folders"], "api_retries": 0}, capsys)
    assert result["msg"].startswith("GET /addressbook/folders failed: cannot reach http://127.0.0.1:9/api")


def test_transient_503_is_retried_for_a_put(emu, capsys):
    emu.add_folder(name="ops", description="old")
    emu.fail("PUT", "/addressbook/folders/shared/ops", 503, "vault sealed", times=1)
    with patch_module_args({"api_url": emu.url, "api_key": ADMIN_KEY, "name": "ops", "description": "new"}):
        module = rustguac_folder.RustguacFolder()
        module.connect()
        module.client.backoff = 0
        result = module.run()
    assert result["changed"] is True
    assert [status for method, _path, status in emu.writes()] == [503, 200]
    assert emu.state()["folders"][0]["description"] == "new"


def test_missing_key_names_the_option(emu, monkeypatch, capsys):
    monkeypatch.delenv("RUSTGUAC_API_KEY", raising=False)
    result = run(rustguac_info.RustguacInfo, {"api_url": emu.url}, capsys)
    assert result["failed"] and "api_key" in result["msg"]
