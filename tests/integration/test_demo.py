"""tools/demo.py's playbook runs, as its user sees them: each warning below the task that caused it, shown while
the run goes on; third-party Python deprecation warnings left out, Ansible's own warnings kept. The whole demo
runs in test_quickstart.py (its output against the page's transcript, and its closing `next:` pointer)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.integration.conftest import BIN, REPO

pytestmark = pytest.mark.integration

# The demo's own function, in a process of its own, so that the test reads its output while it runs.
RUN_PLAYBOOK = ("import json, os, sys; sys.path.insert(0, sys.argv[1]); from tools.demo import run_playbook; "
                "code, changed = run_playbook(json.loads(sys.argv[2]), dict(os.environ)); "
                "print(f'run_playbook returned {code} {changed}')")

WARNING_MODULE = '''
from ansible.module_utils.basic import AnsibleModule

module = AnsibleModule(argument_spec={"msg": {"type": "str", "required": True}})
module.warn(module.params["msg"])
module.deprecate("the demo task's deprecated option", version="9.0.0", collection_name="proxgate.core")
module.exit_json(changed=False)
'''

# A library installed beside the others that, as cryptography does, warns of a deprecation on import with a
# category of its own (a UserWarning, so that Python shows it), and says something else too.
OLD_LIBRARY = '''
import warnings


class OldLibraryDeprecationWarning(UserWarning):
    pass


warnings.warn("DSA is deprecated in oldlibrary", OldLibraryDeprecationWarning)
warnings.warn("oldlibrary found no configuration file", UserWarning)
VALUE = "oldlibrary imported"
'''

FILTER_PLUGIN = '''
import oldlibrary


class FilterModule:
    def filters(self):
        return {"through_oldlibrary": lambda value: f"{value}, {oldlibrary.VALUE}"}
'''

# The play's name is templated in ansible-playbook's own process, as the DSA warning is printed there.
PLAYBOOK = '''
- name: "Warnings in a demo run, {{ 'templated' | through_oldlibrary }}"
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: A task that warns
      emit_warning:
        msg: the first task's warning

    - name: Wait until the first task's warning has been seen
      ansible.builtin.wait_for:
        path: "{{ seen }}"
        timeout: 30
'''


def test_each_warning_shows_below_its_task_while_the_run_goes_on(tmp_path):
    for path, text in {"library/emit_warning.py": WARNING_MODULE, "filter_plugins/oldlibrary.py": FILTER_PLUGIN,
                       "site-packages/oldlibrary/__init__.py": OLD_LIBRARY, "playbook.yml": PLAYBOOK}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(textwrap.dedent(text).lstrip())
    seen = tmp_path / "warning-seen"
    command = [str(BIN / "ansible-playbook"), "-i", "localhost,", "-e", f"ansible_python_interpreter={sys.executable}",
               "-e", f"seen={seen}", str(tmp_path / "playbook.yml")]
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PROXMOX_", "GUACAMOLE_", "ANSIBLE_", "DEMO_", "PYTHON"))}
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
               ANSIBLE_HOME=str(tmp_path / "ansible-home"), PYTHONPATH=str(tmp_path / "site-packages"))
    demo = subprocess.Popen([sys.executable, "-c", RUN_PLAYBOOK, str(REPO), json.dumps(command)], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        for line in demo.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("[WARNING]: the first task's warning"):
                seen.touch()  # the last task waits for this: a warning held back until the end fails the run
        demo.wait(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    output = "\n".join(lines)
    assert lines[-1] == "run_playbook returned 0 0", output

    def index(start):
        found = [number for number, line in enumerate(lines) if line.startswith(start)]
        assert len(found) == 1, f"{start!r} is not once in:\n{output}"
        return found[0]

    play, first_task, second_task = (index("PLAY [Warnings in a demo run, templated, oldlibrary imported]"),
                                     index("TASK [A task that warns]"), index("TASK [Wait until"))
    recap = index("localhost ")
    assert first_task < index("[WARNING]: the first task's warning") < second_task < recap, output
    assert first_task < index("[DEPRECATION WARNING]: the demo task's deprecated option") < second_task, output
    # The library's Python warnings do show in the run, but not its deprecation (nor the line of source that
    # Python prints below it).
    assert index(f"{tmp_path}/site-packages/oldlibrary/__init__.py:9: UserWarning: oldlibrary found no ") < play
    assert "DSA is deprecated" not in output and "DeprecationWarning" not in output, output
