"""What the Guacamole modules of this collection share: every option is documented as the argument spec
declares it (type, default, choices, required), and guacamole_info's tree annotation."""

from __future__ import annotations

import importlib

import pytest
import yaml

from ansible_collections.proxgate.core.plugins.doc_fragments.guacamole import ModuleDocFragment
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.module import guacamole_auth_argument_spec
from ansible_collections.proxgate.core.plugins.modules.guacamole_info import annotate_tree

MODULES = {
    "guacamole_connection": "GuacamoleConnection",
    "guacamole_connection_group": "GuacamoleConnectionGroup",
    "guacamole_sharing_profile": "GuacamoleSharingProfile",
    "guacamole_info": "GuacamoleInfo",
    "guacamole_api": "GuacamoleApi",
}


def documented_options(module):
    options = dict(yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"])
    options.update(yaml.safe_load(module.DOCUMENTATION).get("options") or {})
    return options


@pytest.mark.parametrize("name", sorted(MODULES))
def test_argument_spec_matches_the_documentation(name):
    module = importlib.import_module(f"ansible_collections.proxgate.core.plugins.modules.{name}")
    spec = dict(guacamole_auth_argument_spec())
    spec.update(getattr(module, MODULES[name]).argument_spec)
    docs = documented_options(module)
    assert set(spec) == set(docs), f"undocumented: {set(spec) - set(docs)}, not in the spec: {set(docs) - set(spec)}"
    for option, declared in spec.items():
        doc = docs[option]
        assert doc["type"] == declared["type"], option
        assert doc.get("default") == declared.get("default"), option
        assert bool(doc.get("required")) == bool(declared.get("required")), option
        assert doc.get("choices") == declared.get("choices"), option
        assert doc.get("elements") == declared.get("elements"), option


def test_annotate_tree_adds_paths_and_drops_empty_child_lists():
    tree = {"identifier": "ROOT", "name": "ROOT", "type": "ORGANIZATIONAL",
            "childConnections": [{"identifier": "9", "name": "top"}],
            "childConnectionGroups": [{"identifier": "1", "name": "a/b", "childConnectionGroups": [
                {"identifier": "2", "name": "Web", "childConnections": [{"identifier": "3", "name": "web01"}]}]}]}
    annotated = annotate_tree(tree)
    assert annotated["path"] == "ROOT"
    assert annotated["childConnections"][0]["path"] == "top"
    group = annotated["childConnectionGroups"][0]
    assert group["path"] == "a\\/b" and "childConnections" not in group
    assert group["childConnectionGroups"][0]["childConnections"][0]["path"] == "a\\/b/Web/web01"
