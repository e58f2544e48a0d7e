"""guacd_ping through ansible-playbook against the real guacd 1.6.0 (tests/integration/guacd_real.py), for every
protocol, plain and TLS; and against the guacd emulator (tests/emulators/guacd) for what a healthy guacd never
does (hang, garbage, errors, closing, a late start), which the emulator's fault switches produce."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

import pytest

from tests.integration import guacd_real
from tests.integration.guacamole_fixtures import make_self_signed_cert

pytestmark = pytest.mark.integration

real_guacd = guacd_real.real_guacd
PROTOCOLS = ["ssh", "rdp", "vnc", "telnet", "kubernetes"]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Guacd:
    def __init__(self, process, host, port):
        self.process, self.host, self.port = process, host, port


@pytest.fixture
def guacd(tmp_path):
    """start(*flags, port=0) -> a running emulator (its own process), stopped after the test."""
    started = []

    def start(*flags, port=0):
        command = [sys.executable, "-m", "tests.emulators.guacd", "--port", str(port),
                   "--config", str(tmp_path / "no-guacd.conf"), *flags]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        started.append(process)
        line = process.stdout.readline().strip()
        assert line.startswith("guacd-emulator listening on "), line
        host, _colon, bound = line.rsplit(" ", 1)[1].rpartition(":")
        return Guacd(process, host, int(bound))

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


def failed(run, task_name):
    """True when the task failed (ansible-core 2.19 leaves `failed` out of the recorded result)."""
    run.result(task_name)
    return task_name in [record["task"] for record in run.failed]


def ping_task(name, ignore_errors=True, **options):
    lines = [f"- name: {name}", "  proxgate.core.guacd_ping:"]
    lines += [f"    {key}: {value}" for key, value in options.items()]
    if ignore_errors:
        lines.append("  ignore_errors: true")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_real_guacd_answers_every_protocol(real_guacd, run_playbook, tls):
    peer = real_guacd(tls=tls)
    assert set(PROTOCOLS) <= set(peer.protocols), peer.protocols
    options = dict(host=peer.host, port=peer.port, timeout=10)
    if tls:
        options.update(tls="true", ca_path=peer.cert)
    run = run_playbook("".join(ping_task(p, ignore_errors=False, protocol=p, **options) for p in PROTOCOLS))
    assert run.rc == 0, run.stdout + peer.log_text()[-2000:]
    for protocol in PROTOCOLS:
        result = run.result(protocol)
        assert result["changed"] is False and result["tls"] is tls and result["attempts"] == 1
        assert result["version"] == "VERSION_1_5_0"
        # What the module reports is what guacd sends this very client.
        with peer.client() as client:
            assert client.select(protocol)[2:] == result["args"]
        assert result["args"][0] == "hostname"
    assert "host-key" in run.result("ssh")["args"] and "security" in run.result("rdp")["args"]
    assert "namespace" in run.result("kubernetes")["args"] and "encodings" in run.result("vnc")["args"]
    assert 'Creating new client for protocol "kubernetes"' in peer.log_text()


def test_real_guacd_with_tls_refuses_a_plain_ping_and_an_unknown_ca(real_guacd, run_playbook, tmp_path):
    peer = real_guacd(tls=True)
    other_ca, _other_key = make_self_signed_cert(tmp_path / "other")
    common = dict(host=peer.host, port=peer.port, timeout=5)
    run = run_playbook(ping_task("plain", **common) + ping_task("unknown CA", tls="true", ca_path=other_ca, **common))
    assert failed(run, "plain") and "TLS" in run.result("plain")["msg"], run.result("plain")
    unknown = run.result("unknown CA")
    assert failed(run, "unknown CA")
    assert "the certificate was not accepted" in unknown["msg"]


def test_plain_ping_returns_version_and_args_in_check_mode_too(guacd, run_playbook):
    peer = guacd()
    tasks = (ping_task("ssh", ignore_errors=False, host=peer.host, port=peer.port)
             + ping_task("rdp", ignore_errors=False, host=peer.host, port=peer.port, protocol="rdp"))
    for check in (False, True):
        run = run_playbook(tasks, check=check)
        assert run.rc == 0, run.stdout
        ssh = run.result("ssh")
        assert ssh["changed"] is False
        assert ssh["version"] == "VERSION_1_5_0"
        assert ssh["args"][:5] == ["hostname", "host-key", "port", "timeout", "username"]
        assert ssh["protocol"] == "ssh" and ssh["attempts"] == 1 and ssh["tls"] is False
        assert 0 <= ssh["elapsed"] < 5
        rdp = run.result("rdp")
        assert {"security", "ignore-cert", "domain"} <= set(rdp["args"])
        assert "host-key" not in rdp["args"]


def test_tls_with_ca_file_and_with_an_unknown_ca(guacd, run_playbook, tmp_path):
    cert, key = make_self_signed_cert(tmp_path / "pki")
    other_ca, _other_key = make_self_signed_cert(tmp_path / "other")
    peer = guacd("-C", cert, "-K", key)
    common = dict(host=peer.host, port=peer.port, timeout=5)
    run = run_playbook(
        ping_task("trusted", tls="true", ca_path=cert, **common)
        + ping_task("unknown CA", tls="true", ca_path=other_ca, **common)
        + ping_task("not verified", tls="true", validate_certs="false", ca_path=other_ca, **common)
        + ping_task("wrong name", tls="true", ca_path=cert, server_name="guacd.example.org", **common)
        + ping_task("plain text to TLS guacd", **common))
    trusted = run.result("trusted")
    assert not failed(run, "trusted"), trusted
    assert trusted["tls"] is True and trusted["version"] == "VERSION_1_5_0"
    unknown = run.result("unknown CA")
    assert failed(run, "unknown CA")
    assert f"TLS to guacd at {peer.host}:{peer.port}: the certificate was not accepted" in unknown["msg"]
    assert "certificate verify failed" in unknown["msg"] or "self-signed" in unknown["msg"]
    assert "ca_path" in unknown["msg"]
    assert not failed(run, "not verified")
    wrong_name = run.result("wrong name")
    assert failed(run, "wrong name") and "guacd.example.org" in wrong_name["msg"]
    plain = run.result("plain text to TLS guacd")
    assert failed(run, "plain text to TLS guacd")
    assert "TLS" in plain["msg"], plain["msg"]  # guacd resets or closes: either way the message hints at TLS


def test_refused_port_is_named(run_playbook):
    port = free_port()
    run = run_playbook(ping_task("refused", host="127.0.0.1", port=port, retries=1, delay=0.1))
    result = run.result("refused")
    assert failed(run, "refused")
    assert f"connection to guacd at 127.0.0.1:{port} refused" in result["msg"]
    assert "(after 2 attempts)" in result["msg"]


def test_hang_times_out(guacd, run_playbook):
    peer = guacd("--fault", "hang")
    started = time.monotonic()
    run = run_playbook(ping_task("hang", host=peer.host, port=peer.port, timeout=1))
    result = run.result("hang")
    assert failed(run, "hang")
    assert result["msg"] == (f"guacd at {peer.host}:{peer.port} did not answer 'select' for 'ssh' within 1 s (guacd "
                             "sends nothing at all when support for 'ssh' is not installed: its log then says "
                             "'Support for protocol \"ssh\" is not installed')")
    assert time.monotonic() - started < 30


def test_faulty_replies_are_shown(guacd, run_playbook):
    error = guacd("--fault", "error")
    garbage = guacd("--fault", "garbage")
    run = run_playbook(ping_task("error", host=error.host, port=error.port, retries=3, delay=0)
                       + ping_task("garbage", host=garbage.host, port=garbage.port, retries=3, delay=0))
    result = run.result("error")
    assert failed(run, "error")
    assert result["msg"] == (f"guacd at {error.host}:{error.port} refused 'select' for 'ssh': error "
                             "'Server busy: too many connections (emulator fault)' (status 0x0201 SERVER_BUSY)")
    assert result["instruction"] == ["error", "Server busy: too many connections (emulator fault)", "513"]
    result = run.result("garbage")
    assert failed(run, "garbage")
    assert "sent something that is not the Guacamole protocol" in result["msg"]
    assert "HTTP/1.1" in result["msg"]
    assert "attempts" not in result["msg"]  # neither is retried


def test_protocol_guacd_was_built_without(guacd, run_playbook):
    # guacd 1.6.0 answers nothing and keeps the socket open (the emulator's default, checked against the real
    # one in tests/emulators/test_guacd_conformance.py); other builds may close it or send an error.
    silent = guacd("--protocols", "ssh,vnc")
    closing = guacd("--protocols", "ssh,vnc", "--unknown-protocol", "close")
    erroring = guacd("--protocols", "ssh,vnc", "--unknown-protocol", "error")
    run = run_playbook(ping_task("silent", host=silent.host, port=silent.port, protocol="rdp", timeout=2)
                       + ping_task("closes", host=closing.host, port=closing.port, protocol="rdp")
                       + ping_task("errors", host=erroring.host, port=erroring.port, protocol="rdp")
                       + ping_task("vnc served", ignore_errors=False, host=silent.host, port=silent.port,
                                   protocol="vnc"))
    silent_result = run.result("silent")
    assert failed(run, "silent")
    assert "did not answer 'select' for 'rdp' within 2 s" in silent_result["msg"]
    assert "Support for protocol \"rdp\" is not installed" in silent_result["msg"]
    closes = run.result("closes")
    assert failed(run, "closes")
    assert "closed the connection without answering after 'select' for 'rdp'" in closes["msg"]
    assert "support for 'rdp' is not installed" in closes["msg"]
    errors = run.result("errors")
    assert failed(run, "errors")
    assert ("error 'Support for protocol \"rdp\" is not installed' (status 0x0100 UNSUPPORTED)"
            in errors["msg"])
    assert "encodings" in run.result("vnc served")["args"]


def test_retries_until_a_late_guacd_answers(guacd, run_playbook):
    # As right after a restart: the first attempt meets a socket that closes at once, then nothing listens
    # (refused) for a while, then guacd answers. No sleeps to guess how long ansible-playbook takes to start.
    starting = socket.create_server(("127.0.0.1", 0))
    port = starting.getsockname()[1]

    def restart():
        connection, _peer = starting.accept()
        connection.close()
        starting.close()
        time.sleep(1.0)
        guacd(port=port)

    late = threading.Thread(target=restart)
    late.start()
    try:
        run = run_playbook(ping_task("late", ignore_errors=False, host="127.0.0.1", port=port, retries=30,
                                     delay=0.3, timeout=2))
    finally:
        late.join(timeout=60)
    result = run.result("late")
    assert run.rc == 0, run.stdout
    assert result["version"] == "VERSION_1_5_0"
    assert result["attempts"] >= 3  # closed, refused at least once, then the answer
    assert result["elapsed"] >= 1.0


def test_bad_options_fail_before_connecting(run_playbook):
    run = run_playbook(ping_task("bad", port=0, timeout=0))
    result = run.result("bad")
    assert failed(run, "bad")
    assert result["msg"] == "port must be between 1 and 65535, got 0; timeout must be more than 0 seconds, got 0"
