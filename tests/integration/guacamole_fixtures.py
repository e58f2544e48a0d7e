"""Fixtures for the Guacamole integration tests: the emulator on 127.0.0.1 (HTTP, or HTTPS with a
self-signed certificate made here with `cryptography`), and the GUACAMOLE_* environment the modules read.

A test module uses them with ``guac = guacamole_fixtures.guac`` (and so on) at module level.
"""

from __future__ import annotations

import datetime
import ipaddress
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.emulators.guacamole import GuacamoleEmulator

ADMIN = "guacadmin"
ADMIN_PASSWORD = "guacadmin-Pa55"


def make_self_signed_cert(directory, host="127.0.0.1"):
    """(certfile, keyfile) of a self-signed certificate for host, usable as its own CA (ca_path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "guacamole-emulator")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return str(certfile), str(keyfile)


@pytest.fixture
def guacamole_server(tmp_path):
    """start(version="1.6.0", tls=False, **emulator_kwargs) -> a started GuacamoleEmulator, stopped after the test."""
    started = []

    def start(version="1.6.0", tls=False, **kwargs):
        if tls:
            kwargs["certfile"], kwargs["keyfile"] = make_self_signed_cert(tmp_path / f"pki{len(started)}")
        kwargs.setdefault("admin_password", ADMIN_PASSWORD)
        emu = GuacamoleEmulator(host="127.0.0.1", port=0, version=version, **kwargs).start()
        started.append(emu)
        return emu

    yield start
    for emu in started:
        emu.stop()


@pytest.fixture
def guac(guacamole_server):
    """A Guacamole 1.6 emulator over HTTP."""
    return guacamole_server()


def guac_env(emu, username=ADMIN, password=ADMIN_PASSWORD, **extra):
    """The environment an AWX credential would give; the modules read their auth from it."""
    env = {"GUACAMOLE_URL": emu.url, "GUACAMOLE_USERNAME": username, "GUACAMOLE_PASSWORD": password}
    if emu.certfile:
        env["GUACAMOLE_CA_PATH"] = emu.certfile
    env.update(extra)
    return env


def writes(emu):
    """The write requests the emulator saw (logins and logouts excluded), as (method, path) with the path
    relative to the data source (``connections/3``), or to the API root for other paths."""
    prefix = f"{emu.context_path}/api/session/data/"
    found = []
    for method, path, _body in emu.write_requests():
        if path.startswith(prefix):
            path = path[len(prefix):].partition("/")[2]
        found.append((method, path))
    return found


def bodies(emu, method, path_suffix):
    """The JSON bodies (secrets redacted by the emulator) of the logged requests with this method and path end."""
    return [json.loads(body) for seen_method, path, body in emu.requests
            if seen_method == method and path.split("?")[0].endswith(path_suffix) and body]


def logins_and_logouts(emu):
    """(number of logins, number of token deletions) in the request log."""
    tokens = f"{emu.context_path}/api/tokens"
    logins = sum(1 for method, path, _unused in emu.requests if method == "POST" and path == tokens)
    logouts = sum(1 for method, path, _unused in emu.requests if method == "DELETE" and path.startswith(tokens + "/"))
    return logins, logouts


def assert_no_session_left(emu):
    """Every token the modules got was deleted: no live session, one DELETE per login."""
    assert emu.sessions() == {}, "a module left its token alive"
    logins, logouts = logins_and_logouts(emu)
    assert logins == logouts, f"{logins} logins but {logouts} token deletions"
