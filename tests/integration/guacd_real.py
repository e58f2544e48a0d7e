"""The real guacd (Apache guacamole-server 1.6.0) for the tests, and a small Guacamole-protocol client.

guacd is built once per machine by tools/guacd_build.sh into a cache outside the clone, keyed by the tarball's
sha256 (~4.5 minutes cold, nothing when cached). `real_guacd` starts it on 127.0.0.1 on a free port, plain or
TLS with a self-signed certificate made for the test, waits until it logs that it listens, and stops it after
the test. With PROXGATE_NO_REAL_GUACD=1 the tests that need it are skipped, saying so; otherwise a build that
fails fails them.

`GuacClient` speaks the protocol as a Guacamole web application does towards guacd: `select`, then `size`,
`audio`, `video`, `image`, `timezone`, then `connect` with one value per name of guacd's `args`, in that
order; afterwards it answers `sync` as a browser would and collects what guacd draws. `Screen` paints the
PNG `img` streams of the default layer into one picture (stdlib zlib; guacd is told the client takes only
image/png, so it sends no JPEG or WebP).

A test module uses them with ``real_guacd = guacd_real.real_guacd`` at module level.
"""

from __future__ import annotations

import base64
import codecs
import collections
import contextlib
import os
import select as select_module
import shutil
import socket
import ssl
import struct
import subprocess
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.integration.guacamole_fixtures import make_self_signed_cert

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "tools" / "guacd_build.sh"
SKIP_VARIABLE = "PROXGATE_NO_REAL_GUACD"
START_TIMEOUT = 20
PROTOCOL_VERSION = "VERSION_1_5_0"
# guacd's own wait for each instruction of the handshake (src/guacd/proc.h GUACD_TIMEOUT, 15000 ms).
HANDSHAKE_TIMEOUT = 15


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


_prefix_cache: dict = {}


def guacd_prefix() -> Path:
    """The install prefix of the real guacd, built now if the cache has none (the script holds a lock, so
    xdist workers and tools/test.sh's early build make one build). Skips only under PROXGATE_NO_REAL_GUACD=1;
    a failed build fails the test."""
    if os.environ.get(SKIP_VARIABLE) == "1":
        pytest.skip(f"{SKIP_VARIABLE}=1: the real guacd (tools/guacd_build.sh) is not used in this run")
    if "prefix" in _prefix_cache:
        return _prefix_cache["prefix"]
    built = subprocess.run([str(BUILD_SCRIPT)], capture_output=True, text=True, check=False, timeout=1800)
    if built.returncode != 0:
        pytest.fail(f"tools/guacd_build.sh failed ({built.returncode}); set {SKIP_VARIABLE}=1 to skip the tests "
                    f"of the real guacd:\n{built.stderr[-4000:]}", pytrace=False)
    prefix = Path(built.stdout.strip().splitlines()[-1])
    _prefix_cache["prefix"] = prefix
    return prefix


def built_protocols(prefix: Path) -> list[str]:
    """The protocols this build of guacd serves (its libguac-client-<protocol>.so plugins)."""
    return sorted(p.name[len("libguac-client-"):-len(".so")] for p in (prefix / "lib").glob("libguac-client-*.so"))


@dataclass
class RealGuacd:
    host: str
    port: int
    process: subprocess.Popen
    log: Path
    prefix: Path
    cert: str | None = None
    key: str | None = None
    protocols: list = field(default_factory=list)

    @property
    def tls(self):
        return self.cert is not None

    def client(self, timeout=10) -> GuacClient:
        context = None
        if self.tls:
            context = ssl.create_default_context(cafile=self.cert)
        return GuacClient.connect(self.host, self.port, context=context, timeout=timeout)

    def log_text(self):
        return self.log.read_text(errors="replace")


def start_real_guacd(prefix: Path, workdir: Path, tls=False, log_level="debug") -> RealGuacd:
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [str(prefix / "sbin" / "guacd"), "-f", "-b", "127.0.0.1", "-l", str(port), "-L", log_level]
    cert = key = None
    if tls:
        cert, key = make_self_signed_cert(workdir / "pki")
        command += ["-C", cert, "-K", key]
    log = workdir / "guacd.log"
    env = dict(os.environ, LD_LIBRARY_PATH=str(prefix / "lib"))
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log.open("w"), stderr=subprocess.STDOUT,
                               env=env, start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT
    while "Listening on host" not in log.read_text(errors="replace"):
        if process.poll() is not None:
            raise RuntimeError(f"guacd exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        if time.monotonic() > deadline:
            stop(process)
            raise RuntimeError(f"guacd did not listen within {START_TIMEOUT} s:\n{log.read_text(errors='replace')}")
        time.sleep(0.05)
    return RealGuacd("127.0.0.1", port, process, log, prefix, cert, key, built_protocols(prefix))


def stop(process):
    """Stop guacd and the connection processes it forked (its session's process group)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(10)


@pytest.fixture
def real_guacd(tmp_path):
    """start(tls=False) -> a RealGuacd on 127.0.0.1, stopped after the test."""
    prefix = guacd_prefix()
    started = []

    def start(tls=False):
        guacd = start_real_guacd(prefix, tmp_path / f"guacd{len(started)}", tls=tls)
        started.append(guacd)
        return guacd

    yield start
    for guacd in started:
        stop(guacd.process)


# --- the protocol -------------------------------------------------------------------------------------------

def encode(*elements: str) -> bytes:
    """`encode("select", "ssh")` -> b"6.select,3.ssh;" (lengths count Unicode code points)."""
    return (",".join(f"{len(str(e))}.{e}" for e in elements) + ";").encode("utf-8")


class Closed(Exception):
    """guacd closed the connection."""


class GuacClient:
    def __init__(self, sock, timeout):
        self.sock = sock
        self.timeout = timeout
        self.buffer = ""
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.received: list[list[str]] = []

    @classmethod
    def connect(cls, host, port, context=None, timeout=10):
        sock = socket.create_connection((host, port), timeout=timeout)
        if context is not None:
            sock = context.wrap_socket(sock, server_hostname=host)
        return cls(sock, timeout)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, *elements):
        self.sock.sendall(encode(*elements))

    def _parse(self):
        """One whole instruction from the buffer, or None."""
        elements, position = [], 0
        text = self.buffer
        while True:
            dot = text.find(".", position)
            if dot < 0:
                return None
            length = int(text[position:dot])
            end = dot + 1 + length
            if end >= len(text):
                return None
            elements.append(text[dot + 1:end])
            terminator = text[end]
            position = end + 1
            if terminator == ";":
                self.buffer = text[position:]
                return elements
            if terminator != ",":
                raise ValueError(f"not the Guacamole protocol: {text[:80]!r}")

    def read(self, timeout=None) -> list[str]:
        """The next instruction; TimeoutError when none arrives within timeout, Closed when guacd closes."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            instruction = self._parse()
            if instruction is not None:
                self.received.append(instruction)
                return instruction
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no instruction from guacd in time")
            pending = isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()
            if not pending:
                ready, _w, _x = select_module.select([self.sock], [], [], left)
                if not ready:
                    continue
            self.sock.settimeout(max(left, 0.01))
            try:
                data = self.sock.recv(65536)
            except (ConnectionResetError, ssl.SSLEOFError) as exc:
                raise Closed(str(exc)) from exc
            if not data:
                raise Closed("guacd closed the connection")
            self.buffer += self.decoder.decode(data)

    def select(self, protocol_or_id, timeout=None):
        self.send("select", protocol_or_id)
        return self.read(timeout)

    def handshake(self, protocol, parameters, width=1024, height=768, dpi=96, timeout=None):
        """select -> args; size, audio, video, image, timezone; connect with the values in args' order.
        Returns (args, first instruction after connect) -- `ready` when guacd took the connection."""
        args = self.select(protocol, timeout)
        if args[0] != "args":
            return args, None
        self.send("size", str(width), str(height), str(dpi))
        self.send("audio")
        self.send("video")
        self.send("image", "image/png")
        self.send("timezone", "UTC")
        values = [args[1]] + [str(parameters.get(name, "")) for name in args[2:]]
        self.send("connect", *values)
        return args, self.read(timeout)

    def follow(self, seconds, stop=None) -> list[list[str]]:
        """Read for up to `seconds` (until `stop(instruction)` is true, or guacd closes), answering `sync` and
        sending `nop` every second as a browser does; returns what arrived."""
        seen = []
        deadline = time.monotonic() + seconds
        keepalive = time.monotonic()
        while time.monotonic() < deadline:
            if time.monotonic() >= keepalive:  # guacamole-common-js sends `nop` every few seconds
                with contextlib.suppress(OSError):
                    self.send("nop")
                keepalive = time.monotonic() + 1
            try:
                instruction = self.read(max(min(deadline, keepalive) - time.monotonic(), 0.01))
            except TimeoutError:
                continue
            except Closed:
                break
            seen.append(instruction)
            if instruction[0] == "sync":
                with contextlib.suppress(OSError):  # guacd may have closed: the next read says so
                    self.send("sync", instruction[1])
            if stop is not None and stop(instruction):
                break
        return seen


# --- pictures -----------------------------------------------------------------------------------------------

def jpeg_decode(data: bytes):
    """(width, height, rows of RGBA bytes) of a JPEG, through djpeg (Debian libjpeg-turbo-progs) as binary PPM."""
    if shutil.which("djpeg") is None:
        pytest.fail("djpeg not installed: run tools/system_deps.sh test (Debian libjpeg-turbo-progs)")
    ppm = subprocess.run(["djpeg", "-pnm"], input=data, capture_output=True, check=True).stdout
    magic, width, height, maxval, pixels = ppm.split(maxsplit=4)
    assert magic == b"P6" and maxval == b"255", ppm[:20]  # djpeg writes P5 for greyscale: guacd sends colour
    width, height = int(width), int(height)
    stride = width * 3
    rows = []
    for y in range(height):
        rgba = bytearray(width * 4)
        for channel in range(3):
            rgba[channel::4] = pixels[y * stride + channel:(y + 1) * stride:3]
        rgba[3::4] = b"\xff" * width
        rows.append(bytes(rgba))
    return width, height, rows


def png_decode(data: bytes):
    """(width, height, rows of RGBA bytes) of a non-interlaced PNG of any colour type and bit depth up to 8 (guacd
    writes palette PNGs of 1 to 8 bits from its own encoder, and RGB/RGBA ones through cairo)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, idat, header, palette, transparency = 8, b"", None, b"", b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        chunk = data[position + 8:position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"PLTE":
            palette = chunk
        elif kind == b"tRNS":
            transparency = chunk
        elif kind == b"IDAT":
            idat += chunk
        elif kind == b"IEND":
            break
    width, height, depth, color, _compression, _filter, interlace = header
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]
    if depth > 8 or interlace:
        raise ValueError(f"PNG kind not handled here: depth {depth}, interlace {interlace}")
    raw = zlib.decompress(idat)
    stride = (width * channels * depth + 7) // 8
    step = max(1, channels * depth // 8)
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - step] if i >= step else 0
            up = previous[i]
            corner = previous[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
            elif kind == 4:
                estimate = left + up - corner
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        previous = line
        if depth < 8:
            per_byte, mask = 8 // depth, (1 << depth) - 1
            samples = [(line[x // per_byte] >> (8 - depth * (x % per_byte + 1))) & mask for x in range(width)]
        else:
            samples = line
        rgba = bytearray()
        for x in range(width):
            if color == 3:
                index = samples[x]
                alpha = transparency[index] if index < len(transparency) else 255
                rgba += palette[index * 3:index * 3 + 3] + bytes([alpha])
            elif color == 0:
                grey = samples[x] * 255 // ((1 << depth) - 1)
                rgba += bytes([grey, grey, grey, 255])
            elif color == 4:
                rgba += bytes([samples[2 * x]] * 3 + [samples[2 * x + 1]])
            elif color == 2:
                rgba += bytes(samples[3 * x:3 * x + 3]) + b"\xff"
            else:
                rgba += bytes(samples[4 * x:4 * x + 4])
        rows.append(bytes(rgba))
    return width, height, rows


def png_encode(width, height, rows) -> bytes:
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = b"".join(b"\x00" + row for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


IMAGE_DECODERS = {"image/png": png_decode, "image/jpeg": jpeg_decode}


class Surface:
    def __init__(self, width=0, height=0):
        self.x = self.y = 0
        self.parent = 0
        self.resize(width, height)

    def resize(self, width, height):
        old = getattr(self, "pixels", [])
        self.width, self.height = width, height
        self.pixels = [bytearray(width * 4) for _row in range(height)]
        for y, line in enumerate(old[:height]):
            self.pixels[y][:min(len(line), width * 4)] = line[:width * 4]

    def put(self, x, y, width, rows):
        """Paint rows (RGBA bytes, `width` pixels each) at x, y, clipped; fully transparent pixels left out."""
        left, right = max(x, 0), min(x + width, self.width)
        if left >= right:
            return
        for row, data in enumerate(rows):
            target = y + row
            if not 0 <= target < self.height:
                continue
            part = data[(left - x) * 4:(right - x) * 4]
            if 0 not in part[3::4]:  # opaque: one slice
                self.pixels[target][left * 4:right * 4] = part
                continue
            for column in range(right - left):
                if part[column * 4 + 3]:
                    self.pixels[target][(left + column) * 4:(left + column) * 4 + 4] = part[column * 4:column * 4 + 4]

    def region(self, x, y, width, height):
        rows = []
        for row in range(height):
            line = self.pixels[y + row] if 0 <= y + row < self.height else bytearray()
            chunk = bytes(line[max(x, 0) * 4:(x + width) * 4])
            rows.append(chunk.ljust(width * 4, b"\0"))
        return rows


class Screen:
    """What a browser would show: the layers and off-screen buffers guacd draws on (`size`, `move`, PNG `img`
    streams, `rect` + `cfill`, `copy`), composed as layer 0 with its visible child layers on top. guacd may send
    JPEG whatever the client offered (every client must take it; guacd picks it for a busy region unless the
    connection sets `force-lossless`: display-worker.c, LFR_guac_display_layer_should_use_jpeg): decoded with
    Debian's djpeg. Images of other types (WebP, which the client never offers) are counted in `undecoded`."""

    def __init__(self):
        self.surfaces: dict[str, Surface] = {"0": Surface()}
        self.streams: dict = {}
        self.images = 0
        self.undecoded: collections.Counter = collections.Counter()
        self.path = None

    def surface(self, index):
        return self.surfaces.setdefault(index, Surface())

    def feed(self, instruction):
        opcode, args = instruction[0], instruction[1:]
        if opcode == "size":
            self.surface(args[0]).resize(int(args[1]), int(args[2]))
        elif opcode == "move":
            layer = self.surface(args[0])
            layer.parent, layer.x, layer.y = args[1], int(args[2]), int(args[3])
        elif opcode == "dispose":
            self.surfaces.pop(args[0], None)
        elif opcode == "img":
            stream, _mask, layer, mimetype, x, y = args[:6]
            self.streams[stream] = {"layer": layer, "mimetype": mimetype, "x": int(x), "y": int(y), "data": []}
        elif opcode == "blob" and args[0] in self.streams:
            self.streams[args[0]]["data"].append(base64.b64decode(args[1]))
        elif opcode == "end" and args[0] in self.streams:
            image = self.streams.pop(args[0])
            decode = IMAGE_DECODERS.get(image["mimetype"])
            if decode:
                width, _height, rows = decode(b"".join(image["data"]))
                self.surface(image["layer"]).put(image["x"], image["y"], width, rows)
                self.images += 1
            else:
                self.undecoded[image["mimetype"]] += 1
        elif opcode == "rect":
            self.path = (args[0], int(args[1]), int(args[2]), int(args[3]), int(args[4]))
        elif opcode == "cfill" and self.path and self.path[0] == args[1]:
            _layer, x, y, width, height = self.path
            colour = bytes(int(value) for value in args[2:6])
            self.surface(args[1]).put(x, y, width, [colour * width] * height)
        elif opcode == "copy":
            source, sx, sy, width, height, _mask, target, dx, dy = args[:9]
            rows = self.surface(source).region(int(sx), int(sy), int(width), int(height))
            self.surface(target).put(int(dx), int(dy), int(width), rows)

    def composed(self) -> Surface:
        root = self.surfaces["0"]
        picture = Surface(root.width, root.height)
        picture.put(0, 0, root.width, [bytes(line) for line in root.pixels])
        for index in sorted((i for i in self.surfaces if i not in ("0",) and int(i) > 0), key=int):
            layer = self.surfaces[index]
            if layer.parent == "0":
                picture.put(layer.x, layer.y, layer.width, [bytes(line) for line in layer.pixels])
        return picture

    def distinct_colours(self):
        """The colours on the composed picture (every pixel: X's root weave alternates single pixels)."""
        picture = self.composed()
        return {bytes(line[i:i + 3]) for line in picture.pixels for i in range(0, len(line), 4)}

    def save(self, path: Path):
        picture = self.composed()
        rows = []
        for line in picture.pixels:  # opaque, as a browser shows it on its black page
            opaque = bytearray(line)
            opaque[3::4] = b"\xff" * picture.width
            rows.append(bytes(opaque))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png_encode(picture.width, picture.height, rows))
        return path
