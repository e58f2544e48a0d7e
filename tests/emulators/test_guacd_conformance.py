"""Conformance of the guacd emulator (tests/emulators/guacd) with the real guacd of guacamole-server 1.6.0.

Every test runs twice, against the emulator and against the real guacd (built by tools/guacd_build.sh from the
1.6.0 tarball, started by tests/integration/guacd_real.py), and asserts the same thing of both: where they
disagree, the emulator is wrong. Each test's docstring starts with ``<file> <function>[, <function>...]:
<what>``, the place in the guacamole-server 1.6.0 sources where the behaviour was read;
test_every_test_names_its_source checks that. With PROXGATE_NO_REAL_GUACD=1 the real half is skipped.
"""

from __future__ import annotations

import inspect
import re
import socket
import subprocess
import sys
import threading
import time

import pytest

from tests.emulators.guacd.guacd import PROTOCOL_ARGS, parse_args
from tests.integration import guacd_real
from tests.integration.guacamole_fixtures import make_self_signed_cert
from tests.integration.guacd_real import Closed, RealGuacd

PROTOCOLS = ["ssh", "rdp", "vnc", "telnet", "kubernetes"]
CONNECTION_ID = re.compile(r"\$[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SOURCE = re.compile(r"src/[a-z_/-]+\.[ch] [A-Za-z_]+(, ([A-Za-z_]+|src/[a-z_/-]+\.[ch] [A-Za-z_]+))*")
# Long enough that a reply would have come (guacd answers `select` in milliseconds), short for the suite.
NO_REPLY_WAIT = 2
# src/guacd/proc.h GUACD_TIMEOUT: fixed in the real guacd, the emulator's default (--handshake-timeout).
GUACD_TIMEOUT = 15
# The emulator's in the idle-client test: the same timeout code, without 13 s more of waiting on it.
EMULATOR_HANDSHAKE_TIMEOUT = 2


def start_emulator(workdir, tls=False, handshake_timeout=None):
    workdir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "tests.emulators.guacd", "--port", "0", "--host", "127.0.0.1",
               "--config", str(workdir / "no-guacd.conf"), "-L", "debug"]
    if handshake_timeout is not None:
        command += ["--handshake-timeout", str(handshake_timeout)]
    cert = key = None
    if tls:
        cert, key = make_self_signed_cert(workdir / "pki")
        command += ["-C", cert, "-K", key]
    log = workdir / "emulator.log"
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log.open("w"), text=True)
    line = process.stdout.readline().strip()
    assert line.startswith("guacd-emulator listening on "), line + log.read_text()
    port = int(line.rpartition(":")[2])
    return RealGuacd("127.0.0.1", port, process, log, None, cert, key, list(PROTOCOL_ARGS))


@pytest.fixture(params=["emulator", "guacd-1.6.0"])
def guacd(request, tmp_path):
    """start(tls=False, handshake_timeout=None) -> a running emulator or real guacd (same attributes; prefix None
    for the emulator), stopped after the test. handshake_timeout is the emulator's (the real guacd's is fixed)."""
    started = []
    prefix = guacd_real.guacd_prefix() if request.param == "guacd-1.6.0" else None

    def start(tls=False, handshake_timeout=None):
        workdir = tmp_path / f"guacd{len(started)}"
        peer = guacd_real.start_real_guacd(prefix, workdir, tls=tls) if prefix else \
            start_emulator(workdir, tls, handshake_timeout)
        started.append(peer)
        return peer

    yield start
    for peer in started:
        if prefix:
            guacd_real.stop(peer.process)
        else:
            peer.process.terminate()
            peer.process.wait(10)


def refused_port():
    """A port nothing listens on. Not a just-freed ephemeral port: the kernel may hand that very port to guacd's
    outgoing connection as its source, and a TCP connection to oneself succeeds."""
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", 1), timeout=2):
        pass
    return 1


def assert_closed_without_reply(client, within):
    with pytest.raises(Closed):
        instruction = client.read(within)
        pytest.fail(f"expected the connection closed without a reply, got {instruction}")


def test_every_test_names_its_source():
    """Every other test here cites the guacamole-server source it was read in (this one checks, cites nothing)."""
    module = sys.modules[__name__]
    tests = [value for name, value in vars(module).items() if name.startswith("test_") and callable(value)]
    assert len(tests) >= 13
    for test in tests:
        if test is test_every_test_names_its_source:
            continue
        head, colon, what = " ".join(inspect.getdoc(test).split()).partition(": ")
        assert colon and what and SOURCE.fullmatch(head), f"{test.__name__}: {head!r}"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_args_lists_the_version_then_the_protocols_parameters(guacd, protocol):
    """src/libguac/protocol.c guac_protocol_send_args, src/protocols/ssh/settings.c GUAC_SSH_CLIENT_ARGS: `select` of
    a protocol is answered with `args`, VERSION_1_5_0 first, then the protocol's parameter names in declaration
    order (the rdp, vnc, telnet and kubernetes settings.c alike)."""
    peer = guacd()
    with peer.client() as client:
        args = client.select(protocol)
    assert args[:2] == ["args", "VERSION_1_5_0"]
    assert args[2:] == PROTOCOL_ARGS[protocol]


def test_a_protocol_not_installed_gets_no_reply_and_is_closed_when_the_client_speaks_again(guacd):
    """src/guacd/proc.c guacd_exec_proc, src/guacd/connection.c guacd_add_user, guacd_connection_io_thread,
    guacd_connection_write_thread: `select` of a protocol with no libguac-client-<protocol> is handed to a new
    connection process, which logs that support is not installed and exits; the client gets no instruction and
    its socket stays open (only the client's own timeout ends the wait) until it sends something more, which
    ends guacd's relay and closes the connection."""
    peer = guacd()
    with peer.client() as client:
        client.send("select", "spice")
        with pytest.raises(TimeoutError):
            client.read(NO_REPLY_WAIT)
        client.send("nop")
        assert_closed_without_reply(client, 5)


def test_protocol_names_are_case_sensitive(guacd):
    """src/libguac/client.c guac_client_load_plugin: the protocol name is pasted into the plugin's file name as
    given, so `SSH` is a protocol that is not installed (no reply), while `ssh` is answered."""
    peer = guacd()
    with peer.client() as client:
        client.send("select", "SSH")
        with pytest.raises(TimeoutError):
            client.read(NO_REPLY_WAIT)
    with peer.client() as client:
        assert client.select("ssh")[0] == "args"


def test_joining_a_missing_connection_gets_no_such_connection(guacd):
    """src/guacd/connection.c guacd_route_connection: `select` of an id (a `$` first) that no connection has is
    answered with `error "No such connection."` and status 516 (0x0204 RESOURCE_NOT_FOUND), then closed."""
    peer = guacd()
    with peer.client() as client:
        reply = client.select("$4ad7ae1c-0000-4000-8000-000000000000")
        assert reply == ["error", "No such connection.", "516"]
        assert_closed_without_reply(client, 5)


def test_select_with_two_arguments_is_closed_without_a_reply(guacd):
    """src/guacd/connection.c guacd_route_connection: `select` must carry exactly one argument; with two the
    connection is closed and nothing is sent."""
    peer = guacd()
    with peer.client() as client:
        client.send("select", "ssh", "rdp")
        assert_closed_without_reply(client, 5)


def test_an_instruction_other_than_select_first_is_closed_without_a_reply(guacd):
    """src/guacd/connection.c guacd_route_connection, src/libguac/parser.c guac_parser_expect: the first
    instruction must be `select`; `size` first closes the connection with no reply."""
    peer = guacd()
    with peer.client() as client:
        client.send("size", "1024", "768", "96")
        assert_closed_without_reply(client, 5)


def test_connect_is_answered_with_ready_and_a_new_connection_id(guacd):
    """src/libguac/user-handshake.c guac_user_handle_connection, src/libguac/id.c guac_generate_id: after
    `connect`, guacd sends `ready` with the connection's id, `$` and a UUID, a new one for each connection."""
    peer = guacd()
    ids = []
    for _attempt in range(2):
        with peer.client() as client:
            _args, ready = client.handshake("ssh", {"hostname": "127.0.0.1", "port": refused_port()})
            assert ready[0] == "ready" and CONNECTION_ID.fullmatch(ready[1]), ready
            ids.append(ready[1])
    assert ids[0] != ids[1]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_server_that_refuses_ends_the_session_after_ready(guacd, protocol):
    """src/libguac/client.c guac_client_abort, src/protocols/vnc/vnc.c guac_vnc_client_thread,
    src/common-ssh/ssh.c guac_common_ssh_create_session: when the remote desktop server refuses the connection,
    the session that `ready` opened ends with `disconnect` (for most protocols after an `error` naming the
    failure), within seconds for a client that keeps talking as a browser does."""
    peer = guacd()
    with peer.client() as client:
        _args, ready = client.handshake(protocol, {"hostname": "127.0.0.1", "port": refused_port(),
                                                   "username": "nobody", "password": "not-used",
                                                   "ignore-cert": "true", "timeout": "5"})
        assert ready[0] == "ready"
        seen = client.follow(30, stop=lambda instruction: instruction[0] == "disconnect")
        assert seen and seen[-1] == ["disconnect"], seen[-5:]
        assert [i for i in seen if i[0] in ("img", "blob") and i[2:3] == ["0"]] == []  # no remote screen


def test_connect_with_too_few_values_gets_ready_and_then_nothing(guacd):
    """src/libguac/user-handshake.c guac_user_handle_connection: `ready` is sent before the values of `connect`
    are counted; with fewer values than `args` names the user is not joined: no `error`, no drawing, nothing
    more is sent."""
    peer = guacd()
    with peer.client() as client:
        assert client.select("ssh")[0] == "args"
        client.send("size", "1024", "768", "96")
        client.send("connect", "VERSION_1_5_0", "127.0.0.1", "", str(refused_port()))
        ready = client.read(10)
        assert ready[0] == "ready" and CONNECTION_ID.fullmatch(ready[1])
        with pytest.raises((TimeoutError, Closed)):
            instruction = client.read(3)
            pytest.fail(f"expected nothing after `ready`, got {instruction}")


def test_unknown_handshake_instructions_are_ignored(guacd):
    """src/libguac/user-handlers.c __guac_user_call_opcode_handler, src/libguac/user-handshake.c
    __guac_user_handshake: an instruction with no handshake handler (here `nonsense`) is logged and ignored;
    `connect` still gets `ready`, and a `name` with non-ASCII characters is read by its length in characters."""
    peer = guacd()
    with peer.client() as client:
        args = client.select("telnet")
        client.send("nonsense", "1", "2")
        client.send("name", "Zoë Ærø ✓")
        client.send("size", "800", "600", "96")
        values = [args[1]] + [{"hostname": "127.0.0.1", "port": str(refused_port())}.get(n, "") for n in args[2:]]
        client.send("connect", *values)
        ready = client.read(10)
        assert ready[0] == "ready", ready


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_tls_guacd_speaks_tls_only(guacd, tls):
    """src/guacd/daemon.c main, src/libguac/socket-ssl.c guac_socket_open_secure: with a certificate and key
    (-C, -K) guacd speaks TLS on the same port: a TLS client gets `args`; a plain-text `select` gets no `args`.
    Without them, a plain `select` is answered."""
    peer = guacd(tls=tls)
    with peer.client() as client:
        assert client.select("vnc")[:2] == ["args", "VERSION_1_5_0"]
    if tls:
        with guacd_real.GuacClient.connect(peer.host, peer.port, timeout=5) as plain:
            plain.send("select", "vnc")
            with pytest.raises((Closed, TimeoutError, ValueError, UnicodeDecodeError)):
                reply = plain.read(5)
                pytest.fail(f"a plain-text client got {reply} from a TLS guacd")


def test_an_idle_client_is_given_up_after_15_seconds_before_select_and_after_args(guacd):
    """src/guacd/proc.h GUACD_TIMEOUT, src/guacd/connection.c guacd_route_connection, src/guacd/proc.c
    guacd_user_thread, src/libguac/user-handshake.c __guac_user_handshake: guacd waits 15 s (GUACD_TIMEOUT)
    for `select`, then closes the connection without a reply; after `args` it waits as long for each handshake
    instruction, then gives the session up: a `connect` sent later gets no `ready`, the connection is closed.
    The emulator's timeout is guacd's by default, and set shorter here: its run shows the same in 4 s, not 17."""
    assert parse_args([]).handshake_timeout == GUACD_TIMEOUT
    peer = guacd(handshake_timeout=EMULATOR_HANDSHAKE_TIMEOUT)
    timeout = GUACD_TIMEOUT if peer.prefix else EMULATOR_HANDSHAKE_TIMEOUT
    closed_after = {}

    def wait_for_close(client, started):
        try:
            closed_after["before select"] = f"got {client.read(30)}"
        except Closed:
            closed_after["before select"] = time.monotonic() - started
        except TimeoutError:
            closed_after["before select"] = "still open after 30 s"

    idle = peer.client(timeout=30)
    started = time.monotonic()
    after_args = peer.client(timeout=30)
    try:
        args = after_args.select("rdp")
        assert args[0] == "args"
        waiting = threading.Thread(target=wait_for_close, args=(idle, started))
        waiting.start()
        time.sleep(timeout + 2)
        after_args.send("size", "1024", "768", "96")
        after_args.send("connect", args[1], *["" for _name in args[2:]])
        assert_closed_without_reply(after_args, 10)
        waiting.join(30)
    finally:
        idle.close()
        after_args.close()
    assert isinstance(closed_after["before select"], float), closed_after
    assert timeout - 1 <= closed_after["before select"] < timeout + 5, closed_after
