"""End to end: a connection the collection publishes really connects, through the real guacd, to a real server.

Each test starts a real server on 127.0.0.1 (OpenSSH's sshd; x11vnc on Xvfb; xrdp in front of that desktop),
publishes a connection to it
with a real ansible-playbook run of proxgate.core.guacamole_sync_connections against the Guacamole emulator,
reads that connection's parameters back from the emulator's REST API as the Guacamole web application would
(GET .../connections/{id}/parameters, as the admin), and hands them to the real guacd 1.6.0
(tests/integration/guacd_real.py) with the full handshake a browser's session makes. The session must come
up: `ready`, then the remote screen drawn as PNG images, which are painted into build/guacd-e2e/<protocol>.png
for a person to look at. Wrong credentials in the published connection must end the session with an `error`
instead, as a user would see it.

Needs root (sshd), the Debian packages openssh-server, xvfb, x11vnc and xrdp (tools/system_deps.sh test), and
the real guacd (skipped only with PROXGATE_NO_REAL_GUACD=1). A wrong RDP password is not tested: xrdp hands it to
its VNC back end and, when that refuses, shows its own login window in the session instead of refusing the
RDP connection, so guacd sees no error.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.emulators.guacd.guacd import PROTOCOL_ARGS
from tests.integration import guacamole_fixtures, guacd_real
from tests.integration.guacamole_fixtures import ADMIN, ADMIN_PASSWORD, guac_env
from tests.integration.guacd_real import Screen, free_port
from tests.integration.ssh_fixtures import SSHD, wait_for_port

pytestmark = pytest.mark.integration

guac = guacamole_fixtures.guac
guacamole_server = guacamole_fixtures.guacamole_server
real_guacd = guacd_real.real_guacd

REPO = Path(__file__).resolve().parents[2]
PICTURES = REPO / "build" / "guacd-e2e"
BANNER = "proxgate end-to-end: the published connection reached this sshd"
VNC_PASSWORD = "vnc-Secr3t"
SESSION_SECONDS = 45  # an upper bound: each session stops as soon as its screen is there


# --- servers ------------------------------------------------------------------------------------------------

def stop(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture
def sshd(tmp_path):
    """A real sshd on 127.0.0.1 that lets root in with one ed25519 key only and prints BANNER on login."""
    if not SSHD.exists() or os.geteuid() != 0:
        pytest.skip("needs /usr/sbin/sshd (Debian openssh-server) and root, to run a real sshd")
    workdir = tmp_path / "sshd"
    workdir.mkdir()
    # ed25519 keys: with an RSA key, Debian 12's libssh2 (1.10) signs with ssh-rsa (SHA-1), which OpenSSH 9
    # refuses ("signature algorithm ssh-rsa not in PubkeyAcceptedAlgorithms"), so guacd's login fails.
    for name in ("host_key", "user_key", "other_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(workdir / name)], check=True)
    (workdir / "authorized_keys").write_text((workdir / "user_key.pub").read_text())
    port = free_port()
    (workdir / "sshd_config").write_text("\n".join([
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {workdir / 'host_key'}",
        f"PidFile {workdir / 'sshd.pid'}", f"AuthorizedKeysFile {workdir / 'authorized_keys'}",
        "StrictModes no", "UsePAM no", "PermitRootLogin prohibit-password", "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "PubkeyAuthentication yes", "PrintMotd no", "LogLevel VERBOSE",
        f"ForceCommand printf '%s\\n' '{BANNER}'; exec /bin/sh -i", ""]))
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    log = workdir / "sshd.log"
    process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(workdir / "sshd_config")],
                               stdout=subprocess.DEVNULL, stderr=log.open("w"))
    try:
        wait_for_port(port, process, log)
    except RuntimeError:
        process.kill()
        raise
    yield {"port": port, "key": (workdir / "user_key").read_text(), "other_key": (workdir / "other_key").read_text(),
           "log": log}
    stop(process)


@pytest.fixture
def vnc_server(tmp_path):
    """Xvfb (800x600, X's black-and-white root weave: -retro) served by x11vnc on 127.0.0.1 with VNC_PASSWORD."""
    missing = [program for program in ("Xvfb", "x11vnc") if shutil.which(program) is None]
    if missing:
        pytest.fail(f"{' and '.join(missing)} not installed: run tools/system_deps.sh test (Debian xvfb, x11vnc)")
    workdir = tmp_path / "vnc"
    workdir.mkdir()
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "800x600x24", "-retro", "-nolisten",
                             "tcp",
                             "-auth", str(workdir / "Xauthority")], pass_fds=(write,),
                            stdout=subprocess.DEVNULL, stderr=(workdir / "xvfb.log").open("w"))
    os.close(write)
    with os.fdopen(read) as display_pipe:
        display = display_pipe.readline().strip()
    assert display, (workdir / "xvfb.log").read_text()
    port = free_port()
    log = workdir / "x11vnc.log"
    x11vnc = subprocess.Popen(["x11vnc", "-display", f":{display}", "-rfbport", str(port), "-localhost",
                               "-passwd", VNC_PASSWORD, "-forever", "-shared", "-nopw", "-noipv6", "-o", str(log)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            with guacd_real.socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                if probe.recv(12).startswith(b"RFB "):
                    break
        except OSError:
            pass
        if x11vnc.poll() is not None or time.monotonic() > deadline:
            stop(xvfb)
            pytest.fail(f"x11vnc did not listen on {port}:\n{log.read_text() if log.exists() else ''}")
        time.sleep(0.2)
    yield {"port": port, "width": 800, "height": 600}
    stop(x11vnc)
    stop(xvfb)


@pytest.fixture
def xrdp_server(tmp_path, vnc_server):
    """xrdp (Debian's, its own certificate) on 127.0.0.1 in the foreground, its session the x11vnc desktop above:
    a section with xrdp's VNC module, run at once (autorun) with the password the RDP client logs in with. No
    xrdp-sesman, no systemd: the desktop is already running."""
    if shutil.which("xrdp") is None or not Path("/etc/xrdp/xrdp.ini").exists():
        pytest.fail("xrdp not installed: run tools/system_deps.sh test (Debian xrdp)")
    workdir = tmp_path / "xrdp"
    workdir.mkdir()
    port = free_port()
    settings = Path("/etc/xrdp/xrdp.ini").read_text()
    for pattern, value in ((r"^port=3389$", f"port={port}"), (r"^autorun=$", "autorun=e2e"),
                           (r"^fork=true$", "fork=false"), (r"^LogFile=.*$", f"LogFile={workdir / 'xrdp.log'}"),
                           (r"^EnableSyslog=true$", "EnableSyslog=false")):
        settings, count = re.subn(pattern, value, settings, count=1, flags=re.MULTILINE)
        assert count == 1, f"{pattern} not in /etc/xrdp/xrdp.ini"
    settings += (f"\n[e2e]\nname=e2e\nlib=libvnc.so\nusername=na\npassword=ask\nip=127.0.0.1\n"
                 f"port={vnc_server['port']}\n")
    (workdir / "xrdp.ini").write_text(settings)
    process = subprocess.Popen(["xrdp", "--nodaemon", "--config", str(workdir / "xrdp.ini")],
                               stdout=(workdir / "xrdp.out").open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while True:
        try:
            guacd_real.socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                stop(process)
                pytest.fail(f"xrdp did not listen on {port}:\n{(workdir / 'xrdp.out').read_text()}")
            time.sleep(0.2)
    yield {"port": port, "width": vnc_server["width"], "height": vnc_server["height"]}
    stop(process)


# --- the collection and the Guacamole emulator --------------------------------------------------------------

def publish(run_playbook, guac, name, protocol, parameters):
    """Publish one connection under Proxgate/e2e with guacamole_sync_connections; returns its identifier."""
    task = yaml.safe_dump([{"name": "Publish", "proxgate.core.guacamole_sync_connections": {
        "root": "Proxgate/e2e", "connections": [{"name": name, "protocol": protocol, "parameters": parameters}]}}],
        sort_keys=False)
    run = run_playbook(task, env=guac_env(guac))
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("Publish")["created"] == [f"Proxgate/e2e/{name}"]
    return connection_by_name(guac, name)["identifier"]


def rest(guac, method, path, token=None, data=None):
    request = urllib.request.Request(f"{guac.url}/api/{path}", method=method,
                                     data=urllib.parse.urlencode(data).encode() if data else None)
    if token:
        request.add_header("Guacamole-Token", token)
    with urllib.request.urlopen(request, timeout=10) as response:  # plain HTTP on loopback: no TLS to verify
        body = response.read()
    return json.loads(body) if body else None


def as_admin(guac, action):
    login = rest(guac, "POST", "tokens", data={"username": ADMIN, "password": ADMIN_PASSWORD})
    try:
        return action(login["authToken"], login["dataSource"])
    finally:
        rest(guac, "DELETE", f"tokens/{login['authToken']}", token=login["authToken"])


def connection_by_name(guac, name):
    connections = as_admin(guac, lambda token, ds: rest(guac, "GET", f"session/data/{ds}/connections", token))
    found = [c for c in connections.values() if c["name"] == name]
    assert len(found) == 1, connections
    return found[0]


def published_connection(guac, identifier):
    """(protocol, parameters) of a connection, read as the Guacamole web application reads them for guacd."""
    def read(token, ds):
        connection = rest(guac, "GET", f"session/data/{ds}/connections/{identifier}", token)
        return connection["protocol"], rest(guac, "GET", f"session/data/{ds}/connections/{identifier}/parameters",
                                            token)
    return as_admin(guac, read)


# --- the session --------------------------------------------------------------------------------------------

def session(guacd, protocol, parameters, stop_when, seconds=SESSION_SECONDS):
    """Connect through guacd with these parameters; (ready instruction, what followed, Screen)."""
    screen = Screen()
    with guacd.client(timeout=15) as client:
        _args, ready = client.handshake(protocol, parameters, width=1024, height=768)

        def seen(instruction):
            screen.feed(instruction)
            return stop_when(screen, instruction)

        after = client.follow(seconds, stop=seen)
    return ready, after, screen


def weave_everywhere(screen):
    """Every 40th row of the picture has white in it: X's root weave drawn over the whole screen."""
    picture = screen.composed()
    return picture.height > 0 and all(b"\xff\xff\xff" in bytes(row) for row in picture.pixels[::40])


def errors(instructions):
    return [i for i in instructions if i[0] == "error"]


def test_guacds_args_cover_the_parameters_the_collection_publishes(real_guacd, guac):
    """Issue #21 item 5: every parameter name the Guacamole 1.6.0 schema offers (the names guacamole_connection
    and guacamole_sync_connections check a connection's parameters against) is one guacd 1.6.0 takes; and the
    guacd emulator's `args` lists are the real ones."""
    guacd = real_guacd()
    schema = as_admin(guac, lambda token, ds: rest(guac, "GET", f"session/data/{ds}/schema/protocols", token))
    for protocol in ("ssh", "rdp", "vnc", "telnet", "kubernetes"):
        with guacd.client() as client:
            args = client.select(protocol)
        assert args[:2] == ["args", "VERSION_1_5_0"]
        names = {field["name"] for form in schema[protocol]["connectionForms"] for field in form["fields"]}
        assert names - set(args[2:]) == set(), f"{protocol}: names guacd 1.6.0 does not take"
        assert args[2:] == PROTOCOL_ARGS[protocol]


def test_a_published_ssh_connection_logs_in_and_shows_the_terminal(real_guacd, guac, run_playbook, sshd, tmp_path):
    typescripts = tmp_path / "typescripts"
    identifier = publish(run_playbook, guac, "web01-ssh", "ssh", {
        "hostname": "127.0.0.1", "port": sshd["port"], "username": "root", "private-key": sshd["key"],
        "typescript-path": str(typescripts), "typescript-name": "web01", "create-typescript-path": True,
        "font-size": 14})
    protocol, parameters = published_connection(guac, identifier)
    assert protocol == "ssh" and parameters["private-key"] == sshd["key"]
    guacd = real_guacd()

    # Until a frame (`sync`) shows text: anti-aliased glyphs bring many colours to the black terminal.
    ready, after, screen = session(guacd, protocol, parameters, stop_when=lambda screen, instruction:
                                   instruction[0] == "sync" and len(screen.distinct_colours()) >= 4)
    assert ready[0] == "ready", ready
    assert errors(after) == [], errors(after)
    assert screen.images >= 1, [i[0] for i in after]
    assert len(screen.distinct_colours()) >= 4  # text is drawn, not just the background
    # guacd's own record of the terminal's text (its typescript, written out as the session ends): the banner
    # the login printed.
    deadline = time.monotonic() + 10
    while BANNER not in typescript_text(typescripts) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert BANNER in typescript_text(typescripts), typescript_text(typescripts)
    assert "Accepted publickey for root" in sshd["log"].read_text()
    screen.save(PICTURES / "ssh.png")


def typescript_text(directory):
    return "".join(path.read_text(errors="replace") for path in directory.glob("web01*") if
                   not path.name.endswith(".timing")) if directory.exists() else ""


def test_a_published_ssh_connection_with_the_wrong_key_ends_in_an_error(real_guacd, guac, run_playbook, sshd):
    identifier = publish(run_playbook, guac, "web01-ssh", "ssh", {
        "hostname": "127.0.0.1", "port": sshd["port"], "username": "root", "private-key": sshd["other_key"]})
    protocol, parameters = published_connection(guac, identifier)
    guacd = real_guacd()

    ready, after, _screen = session(guacd, protocol, parameters,
                                    stop_when=lambda _screen, instruction: instruction[0] == "disconnect")
    assert ready[0] == "ready"
    assert errors(after), [i[0] for i in after]
    message, status = errors(after)[0][1:3]
    assert status == "769", (message, status)  # 0x0301 CLIENT_UNAUTHORIZED
    assert "Accepted publickey" not in sshd["log"].read_text()


def test_a_published_vnc_connection_shows_the_remote_screen(real_guacd, guac, run_playbook, vnc_server):
    identifier = publish(run_playbook, guac, "desktop-vnc", "vnc", {
        "hostname": "127.0.0.1", "port": vnc_server["port"], "password": VNC_PASSWORD, "force-lossless": True})
    protocol, parameters = published_connection(guac, identifier)
    guacd = real_guacd()

    def whole_screen(screen, instruction):  # looked at when a frame ends (`sync`)
        return instruction[0] == "sync" and screen.surfaces["0"].width == vnc_server["width"] and \
            weave_everywhere(screen)

    ready, after, screen = session(guacd, protocol, parameters, stop_when=whole_screen)
    assert ready[0] == "ready", ready
    assert errors(after) == [], errors(after)
    # guacd sizes the default layer as the VNC server's framebuffer, then streams it as images.
    assert (screen.surfaces["0"].width, screen.surfaces["0"].height) == (vnc_server["width"], vnc_server["height"])
    assert screen.images >= 1
    assert not screen.undecoded, f"guacd sent lossy images although the connection forces lossless: {screen.undecoded}"
    # Xvfb's root window is X's black-and-white weave, over the whole screen.
    assert weave_everywhere(screen)
    assert screen.distinct_colours() == {b"\x00\x00\x00", b"\xff\xff\xff"}
    screen.save(PICTURES / "vnc.png")


def test_a_published_rdp_connection_shows_the_remote_desktop(real_guacd, guac, run_playbook, xrdp_server):
    # The desktop behind xrdp is the Xvfb + x11vnc one; xrdp logs in to it with the RDP password.
    identifier = publish(run_playbook, guac, "desktop-rdp", "rdp", {
        "hostname": "127.0.0.1", "port": xrdp_server["port"], "username": "demo", "password": VNC_PASSWORD,
        "security": "any", "ignore-cert": True, "force-lossless": True})
    protocol, parameters = published_connection(guac, identifier)
    assert protocol == "rdp" and parameters["ignore-cert"] == "true" and parameters["force-lossless"] == "true"
    guacd = real_guacd()

    # xrdp may draw at the client's size first and resize to the desktop's after (seen on a loaded machine), so
    # the session runs until the desktop's size and its weave are both there.
    size = (xrdp_server["width"], xrdp_server["height"])
    ready, after, screen = session(guacd, protocol, parameters, stop_when=lambda screen, instruction:
                                   instruction[0] == "sync" and "0" in screen.surfaces
                                   and (screen.surfaces["0"].width, screen.surfaces["0"].height) == size
                                   and weave_everywhere(screen))
    screen.save(PICTURES / "rdp.png")
    assert ready[0] == "ready", ready
    assert errors(after) == [], errors(after)
    assert (screen.surfaces["0"].width, screen.surfaces["0"].height) == (xrdp_server["width"],
                                                                         xrdp_server["height"])
    assert not screen.undecoded, f"guacd sent lossy images although the connection forces lossless: {screen.undecoded}"
    assert weave_everywhere(screen), f"the remote desktop (X's root weave) did not fill the screen: {PICTURES}/rdp.png"


def test_a_published_vnc_connection_with_the_wrong_password_ends_in_an_error(
        real_guacd, guac, run_playbook, vnc_server):
    identifier = publish(run_playbook, guac, "desktop-vnc", "vnc", {
        "hostname": "127.0.0.1", "port": vnc_server["port"], "password": "not-the-password"})
    protocol, parameters = published_connection(guac, identifier)
    guacd = real_guacd()

    ready, after, screen = session(guacd, protocol, parameters,
                                   stop_when=lambda _screen, instruction: instruction[0] == "disconnect")
    assert ready[0] == "ready"
    assert screen.images == 0
    assert after and after[-1] == ["disconnect"], after
    assert errors(after), after


XRDP_LOG_TITLE = b"\x00\x9c\xb5\xff"  # the title bar of xrdp's "Connection Log" window (Debian's xrdp.ini colours)


def shows_colour(screen, rgba):
    return any(rgba in bytes(row) for row in screen.composed().pixels)


def test_a_published_rdp_connection_with_the_wrong_password_never_shows_the_desktop(
        real_guacd, guac, run_playbook, xrdp_server):
    """xrdp hands the RDP password on to its session (here the VNC desktop). A wrong one is refused there, so the
    RDP session itself stays up and guacd reports no error: the user sees xrdp's connection log saying
    "VNC password failed" instead of the desktop. That is what this asserts, on the screen guacd streams."""
    identifier = publish(run_playbook, guac, "desktop-rdp", "rdp", {
        "hostname": "127.0.0.1", "port": xrdp_server["port"], "username": "demo", "password": "not-the-password",
        "security": "any", "ignore-cert": True, "force-lossless": True})
    protocol, parameters = published_connection(guac, identifier)
    guacd = real_guacd()

    ready, after, screen = session(guacd, protocol, parameters, stop_when=lambda screen, instruction:
                                   instruction[0] == "sync" and shows_colour(screen, XRDP_LOG_TITLE))
    screen.save(PICTURES / "rdp-wrong-password.png")
    assert ready[0] == "ready", ready
    assert shows_colour(screen, XRDP_LOG_TITLE), f"xrdp's connection log is not on the screen: {PICTURES}"
    # xrdp's own screen, at the size the client asked for: the 800x600 desktop never came.
    assert (screen.surfaces["0"].width, screen.surfaces["0"].height) == (1024, 768)
    assert not weave_everywhere(screen)
    assert not screen.undecoded, screen.undecoded


def test_the_screen_draws_a_jpeg_image_as_a_browser_does():
    """guacd sends a busy region as JPEG unless the connection forces lossless; the pictures above must show it.
    A 16x8 image, left half white and right half black, made by Debian's cjpeg, streamed as guacd streams it."""
    if shutil.which("cjpeg") is None:
        pytest.fail("cjpeg not installed: run tools/system_deps.sh test (Debian libjpeg-turbo-progs)")
    ppm = b"P6 16 8 255\n" + (b"\xff\xff\xff" * 8 + b"\x00\x00\x00" * 8) * 8
    jpeg = subprocess.run(["cjpeg", "-quality", "100"], input=ppm, capture_output=True, check=True).stdout
    screen = Screen()
    for instruction in (["size", "0", "32", "16"], ["img", "3", "14", "0", "image/jpeg", "4", "2"],
                        ["blob", "3", base64.b64encode(jpeg).decode()], ["end", "3"]):
        screen.feed(instruction)
    picture = screen.composed()
    assert screen.images == 1 and not screen.undecoded
    assert picture.pixels[5][4 * 4:4 * 4 + 3] == b"\xff\xff\xff"  # the image's left half, placed at x=4, y=2
    assert picture.pixels[5][19 * 4:19 * 4 + 3] == b"\x00\x00\x00"
    assert picture.pixels[1][4 * 4 + 3] == 0  # above the image: nothing drawn
