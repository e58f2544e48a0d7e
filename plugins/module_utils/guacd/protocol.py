# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Guacamole protocol as guacd speaks it, and the `select` -> `args` handshake (stdlib only).

An instruction is a list of elements, each `<length>.<value>`, separated by `,` and ended by `;`; the first
element is the opcode. The length counts Unicode characters (code points), not bytes, so the parser works on
decoded text and decodes UTF-8 incrementally (a character may be split across two reads).
"""

from __future__ import annotations

import codecs
import socket
import ssl
import time

# guacd's own limits (libguac parser-constants.h): at most 5 length digits per element.
MAX_LENGTH_DIGITS = 5
# More than guacd's 128 elements: `args` of RDP builds with every feature is ~110; stay lenient as a client.
MAX_ELEMENTS = 512
# A reply to `select` is a few KB; anything much longer without a `;` is not guacd.
MAX_PENDING_CHARS = 65536

PROTOCOLS = ("ssh", "rdp", "vnc", "telnet", "kubernetes")

# Guacamole protocol status codes (the `error` instruction's second argument, sent in decimal).
STATUS_NAMES = {
    0x0000: "SUCCESS", 0x0100: "UNSUPPORTED", 0x0200: "SERVER_ERROR", 0x0201: "SERVER_BUSY",
    0x0202: "UPSTREAM_TIMEOUT", 0x0203: "UPSTREAM_ERROR", 0x0204: "RESOURCE_NOT_FOUND",
    0x0205: "RESOURCE_CONFLICT", 0x0206: "RESOURCE_CLOSED", 0x0207: "UPSTREAM_NOT_FOUND",
    0x0208: "UPSTREAM_UNAVAILABLE", 0x0209: "SESSION_CONFLICT", 0x020A: "SESSION_TIMEOUT",
    0x020B: "SESSION_CLOSED", 0x0300: "CLIENT_BAD_REQUEST", 0x0301: "CLIENT_UNAUTHORIZED",
    0x0303: "CLIENT_FORBIDDEN", 0x0308: "CLIENT_TIMEOUT", 0x030D: "CLIENT_OVERRUN", 0x030F: "CLIENT_BAD_TYPE",
    0x031D: "CLIENT_TOO_MANY",
}


class GuacdError(Exception):
    """Any failure of the handshake; `retryable` says whether waiting could help (guacd still starting)."""

    retryable = False


class GuacdProtocolError(GuacdError):
    """The peer's bytes are not the Guacamole protocol."""


class GuacdConnectError(GuacdError):
    retryable = True


class GuacdTimeout(GuacdError):
    retryable = True


class GuacdClosed(GuacdError):
    """The peer closed the connection before a whole instruction arrived."""

    retryable = True


class GuacdTlsError(GuacdError):
    pass


class GuacdUnexpectedReply(GuacdError):
    """guacd answered, but not with `args` (usually an `error` instruction)."""

    def __init__(self, message, instruction):
        super().__init__(message)
        self.instruction = instruction


def encode_element(value: str) -> str:
    return f"{len(value)}.{value}"


def encode_instruction(opcode: str, *args: str) -> str:
    """`encode_instruction("select", "ssh")` -> `6.select,3.ssh;`."""
    return ",".join(encode_element(str(element)) for element in (opcode, *args)) + ";"


class InstructionParser:
    """Incremental parser: feed() bytes as they arrive, get back every instruction completed so far."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
        self._text = ""
        self._elements: list[str] = []

    @property
    def pending(self) -> bool:
        """True when part of an instruction has been received but not its end."""
        return bool(self._text or self._elements)

    def feed(self, data: bytes) -> list[list[str]]:
        try:
            self._text += self._decoder.decode(data)
        except UnicodeDecodeError as exc:
            raise GuacdProtocolError(f"the reply is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        instructions = []
        while True:
            element = self._next_element()
            if element is None:
                break
            value, terminator = element
            self._elements.append(value)
            if len(self._elements) > MAX_ELEMENTS:
                raise GuacdProtocolError(f"an instruction with more than {MAX_ELEMENTS} elements")
            if terminator == ";":
                instructions.append(self._elements)
                self._elements = []
        if len(self._text) > MAX_PENDING_CHARS:
            raise GuacdProtocolError(f"more than {MAX_PENDING_CHARS} characters without the end of an element")
        return instructions

    def _next_element(self):
        """The next complete element and its terminator, consumed from the buffer; None if it is not all here."""
        text = self._text
        dot = text.find(".", 0, MAX_LENGTH_DIGITS + 1)
        if dot == -1:
            if len(text) > MAX_LENGTH_DIGITS or not text.isdigit() and text:
                raise GuacdProtocolError(f"expected an element length (digits then '.'), got {text[:20]!r}")
            return None
        digits = text[:dot]
        if not digits.isdigit() or not digits.isascii():
            raise GuacdProtocolError(f"expected an element length (digits then '.'), got {text[:20]!r}")
        length = int(digits)
        end = dot + 1 + length
        if len(text) <= end:
            return None
        terminator = text[end]
        if terminator not in ",;":
            raise GuacdProtocolError(
                f"element of length {length} is followed by {terminator!r}, not ',' or ';': {text[:end + 1][-40:]!r}")
        self._text = text[end + 1:]
        return text[dot + 1:end], terminator


def describe_instruction(instruction: list[str], limit: int = 200) -> str:
    text = encode_instruction(*instruction) if instruction else "(empty)"
    return text if len(text) <= limit else text[:limit] + "..."


def describe_error(instruction: list[str]) -> str:
    """`error` instruction -> `'Support for protocol ... not installed' (status 0x0100 UNSUPPORTED)`."""
    message = instruction[1] if len(instruction) > 1 else ""
    status = instruction[2] if len(instruction) > 2 else ""
    try:
        code = int(status)
        status_text = f"0x{code:04X} {STATUS_NAMES.get(code, 'unknown status')}"
    except ValueError:
        status_text = status or "no status"
    return f"{message!r} (status {status_text})"


def tls_context(ca_path: str | None, validate_certs: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_path) if validate_certs else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if not validate_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def handshake(host: str, port: int, protocol: str = "ssh", timeout: float = 10.0, tls: bool = False,
              ca_path: str | None = None, validate_certs: bool = True, server_name: str | None = None) -> list[str]:
    """Send `select` for `protocol`, return guacd's `args` instruction (opcode included), close."""
    where = f"{host}:{port}"
    deadline = time.monotonic() + timeout

    def remaining():
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError()
        return left

    try:
        sock = socket.create_connection((host, port), timeout=remaining())
    except ConnectionRefusedError:
        raise GuacdConnectError(
            f"connection to guacd at {where} refused (is guacd running and listening there?)") from None
    except TimeoutError:
        raise GuacdTimeout(f"no connection to guacd at {where} within {timeout:g} s") from None
    except OSError as exc:
        raise GuacdConnectError(f"cannot connect to guacd at {where}: {exc.strerror or exc}") from None
    try:
        if tls:
            try:
                sock = tls_context(ca_path, validate_certs).wrap_socket(sock, server_hostname=server_name or host)
            except ssl.SSLCertVerificationError as exc:
                raise GuacdTlsError(
                    f"TLS to guacd at {where}: the certificate was not accepted: "
                    f"{exc.verify_message or exc.reason} (see ca_path, validate_certs, server_name)") from None
            except ssl.SSLError as exc:
                raise GuacdTlsError(f"TLS handshake with guacd at {where} failed: {exc.reason or exc} "
                                    "(is TLS on in guacd's [ssl] section? set tls accordingly)") from None
            except TimeoutError:
                raise GuacdTimeout(f"TLS handshake with guacd at {where} did not finish within {timeout:g} s") from None
            except (ConnectionResetError, BrokenPipeError, EOFError) as exc:
                raise GuacdTlsError(f"TLS handshake with guacd at {where} failed: the connection was closed "
                                    f"({exc.__class__.__name__}); is TLS on in guacd's [ssl] section?") from None
        return _exchange(sock, where, protocol, timeout, remaining)
    finally:
        sock.close()


def _exchange(sock, where, protocol, timeout, remaining):
    parser = InstructionParser()
    try:
        sock.settimeout(remaining())
        sock.sendall(encode_instruction("select", protocol).encode("utf-8"))
        while True:
            sock.settimeout(remaining())
            data = sock.recv(4096)
            if not data:
                state = "in the middle of an instruction" if parser.pending else "without answering"
                raise GuacdClosed(
                    f"guacd at {where} closed the connection {state} after 'select' for {protocol!r} (guacd closes "
                    f"it when support for {protocol!r} is not installed; its log says so; a plain-text client "
                    "talking to a TLS-only guacd sees this too)") from None
            instructions = parser.feed(data)
            if instructions:
                return _expect_args(instructions[0], where, protocol)
    except TimeoutError:
        # guacd 1.6 hands the socket to a new connection process before loading the protocol's plugin; when
        # the plugin is missing that process exits and nobody answers or closes the socket.
        raise GuacdTimeout(
            f"guacd at {where} did not answer 'select' for {protocol!r} within {timeout:g} s (guacd sends nothing "
            f"at all when support for {protocol!r} is not installed: its log then says 'Support for protocol "
            f"\"{protocol}\" is not installed')") from None
    except ssl.SSLError as exc:
        raise GuacdTlsError(f"TLS error talking to guacd at {where}: {exc.reason or exc}") from None
    except (ConnectionResetError, BrokenPipeError) as exc:
        raise GuacdClosed(f"guacd at {where} reset the connection after 'select' for {protocol!r} ({exc.strerror}; "
                          "a guacd with TLS on does this to a plain-text client: is tls set as guacd's [ssl] "
                          "section says?)") from None
    except GuacdProtocolError as exc:
        raise GuacdProtocolError(f"guacd at {where} sent something that is not the Guacamole protocol: {exc}") from None


def _expect_args(instruction, where, protocol):
    opcode = instruction[0] if instruction else ""
    if opcode == "args":
        return instruction
    if opcode == "error":
        raise GuacdUnexpectedReply(
            f"guacd at {where} refused 'select' for {protocol!r}: error {describe_error(instruction)}", instruction)
    raise GuacdUnexpectedReply(
        f"guacd at {where} answered 'select' for {protocol!r} with {describe_instruction(instruction)!r}, "
        "not 'args'", instruction)


def split_args(instruction: list[str]) -> tuple[str | None, list[str]]:
    """`args` instruction -> (protocol version or None for guacd before 1.1, parameter names)."""
    values = list(instruction[1:])
    if values and values[0].startswith("VERSION_"):
        return values[0], values[1:]
    return None, values


def ping(host, port, protocol="ssh", timeout=10.0, retries=0, delay=2.0, sleep=time.sleep, **tls_options):
    """handshake() with retries for the faults that waiting can cure; returns (args instruction, attempts)."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return handshake(host, port, protocol, timeout, **tls_options), attempt
        except GuacdError as exc:
            if not exc.retryable or attempt > retries:
                if attempt > 1:
                    exc.args = (f"{exc.args[0]} (after {attempt} attempts)",)
                raise
        sleep(delay)
