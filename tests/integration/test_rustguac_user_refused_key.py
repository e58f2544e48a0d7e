"""rustguac_user with a key rustguac v1.9.7 refuses with 403 for another reason than the role.

src/auth.rs require_auth answers an API key that src/db.rs validate_api_key refuses as expired (or disabled, or
from an address outside its allowed list) with 403 and the reason (AuthError: "API key has expired"), not 401. The
rustguac modules (module_utils/rustguac/module.py RustguacModule.report_error) read every 403 as a role too low
and told the user to get a key with the admin role, which was not what was wrong; such a 403 now says the key
itself was refused.
"""

from __future__ import annotations

import pytest

from tests.integration import rustguac_fixtures
from tests.integration.rustguac_fixtures import rg_env, writes

pytestmark = pytest.mark.integration

rustguac = rustguac_fixtures.rustguac


def test_an_expired_admin_key_is_not_called_a_role_too_low(rustguac, run_playbook):
    rustguac.add_user("bob@example.com", role="operator")
    expired = rustguac.add_api_key(name="old-admin", role="admin", expires_at="2000-01-01T00:00:00Z")
    run = run_playbook("""
        - name: expired
          proxgate.core.rustguac_user:
            email: bob@example.com
            role: viewer
          ignore_errors: true
    """, env=rg_env(rustguac, key=expired))
    msg = run.result("expired")["msg"]
    assert "HTTP 403" in msg and "API key has expired" in msg
    assert writes(rustguac) == []
    assert "role is too low" not in msg and "needs the admin role" not in msg
    assert "rustguac refused api_key itself" in msg
