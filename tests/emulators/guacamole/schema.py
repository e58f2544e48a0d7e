"""Static schema data: protocol forms, attribute forms, permission names.

Protocol field names follow the protocol descriptions shipped in
guacamole-ext (``org/apache/guacamole/protocols/*.json``) of Guacamole 1.5/1.6.
"""
from __future__ import annotations

from typing import Any

Field = dict[str, Any]
Form = dict[str, Any]

OBJECT_PERMISSIONS = ("READ", "UPDATE", "DELETE", "ADMINISTER")
SYSTEM_PERMISSIONS_15 = (
    "CREATE_CONNECTION", "CREATE_CONNECTION_GROUP", "CREATE_SHARING_PROFILE",
    "CREATE_USER", "CREATE_USER_GROUP", "ADMINISTER",
)
SYSTEM_PERMISSIONS_16 = SYSTEM_PERMISSIONS_15 + ("AUDIT",)

FONT_SIZES = ["", "8", "9", "10", "11", "12", "14", "18", "24", "30", "36", "48", "60", "72", "96"]
COLOR_SCHEMES = ["", "black-white", "gray-black", "green-black", "white-black"]
TERMINAL_TYPES = ["", "xterm", "xterm-256color", "vt220", "vt100", "ansi", "linux"]
RDP_LAYOUTS = [
    "", "de-ch-qwertz", "de-de-qwertz", "en-gb-qwerty", "en-us-qwerty", "es-es-qwerty",
    "es-latam-qwerty", "failsafe", "fr-be-azerty", "fr-fr-azerty", "fr-ch-qwertz",
    "hu-hu-qwertz", "it-it-qwerty", "ja-jp-qwerty", "pt-br-qwerty", "sv-se-qwerty",
    "da-dk-qwerty", "tr-tr-qwerty",
]


def field(name: str, field_type: str = "TEXT", options: list[str] | None = None) -> Field:
    result: Field = {"name": name, "type": field_type}
    if options is not None:
        result["options"] = list(options)
    return result


def boolean(name: str) -> Field:
    return field(name, "BOOLEAN", ["true"])


def form(name: str, *fields: Field) -> Form:
    return {"name": name, "fields": list(fields)}


def _recording(*, touch: bool = False) -> Form:
    fields = [field("recording-path"), field("recording-name"),
              boolean("recording-exclude-output"), boolean("recording-exclude-mouse")]
    if touch:
        fields.append(boolean("recording-exclude-touch"))
    fields += [boolean("recording-include-keys"), boolean("create-recording-path")]
    return form("recording", *fields)


def _full_sftp() -> Form:
    return form(
        "sftp",
        boolean("enable-sftp"), field("sftp-hostname"), field("sftp-port", "NUMERIC"),
        field("sftp-host-key"), field("sftp-username", "USERNAME"),
        field("sftp-password", "PASSWORD"), field("sftp-private-key", "MULTILINE"),
        field("sftp-passphrase", "PASSWORD"), field("sftp-root-directory"),
        field("sftp-directory"), field("sftp-server-alive-interval", "NUMERIC"),
        boolean("sftp-disable-download"), boolean("sftp-disable-upload"),
    )


def _wol(*, udp_port: bool = True) -> Form:
    fields = [boolean("wol-send-packet"), field("wol-mac-addr"), field("wol-broadcast-addr")]
    if udp_port:
        fields.append(field("wol-udp-port", "NUMERIC"))
    fields.append(field("wol-wait-time", "NUMERIC"))
    return form("wol", *fields)


def _terminal_display() -> Form:
    return form(
        "display",
        field("color-scheme", "TERMINAL_COLOR_SCHEME", COLOR_SCHEMES),
        field("font-name"), field("font-size", "ENUM", FONT_SIZES),
        field("scrollback", "NUMERIC"), boolean("read-only"),
    )


def _clipboard(*extra: Field) -> Form:
    return form("clipboard", *extra, boolean("disable-copy"), boolean("disable-paste"))


def _typescript() -> Form:
    return form("typescript", field("typescript-path"), field("typescript-name"),
                boolean("create-typescript-path"))


SHARING_PROFILE_FORMS = [form("display", boolean("read-only"))]


def _ssh() -> list[Form]:
    return [
        form("network", field("hostname"), field("port", "NUMERIC"), field("host-key")),
        form("authentication", field("username", "USERNAME"), field("password", "PASSWORD"),
             field("private-key", "MULTILINE"), field("passphrase", "PASSWORD")),
        _terminal_display(),
        _clipboard(),
        form("session", field("command"), field("locale"), field("timezone", "TIMEZONE"),
             field("server-alive-interval", "NUMERIC")),
        form("behavior", field("backspace", "ENUM", ["", "127", "8"]),
             field("terminal-type", "ENUM", TERMINAL_TYPES)),
        _typescript(),
        _recording(),
        form("sftp", boolean("enable-sftp"), field("sftp-root-directory"),
             boolean("sftp-disable-download"), boolean("sftp-disable-upload")),
        _wol(udp_port=False),
    ]


def _telnet() -> list[Form]:
    return [
        form("network", field("hostname"), field("port", "NUMERIC")),
        form("authentication", field("username", "USERNAME"), field("password", "PASSWORD"),
             field("username-regex"), field("password-regex"),
             field("login-success-regex"), field("login-failure-regex")),
        _terminal_display(),
        _clipboard(),
        form("behavior", field("backspace", "ENUM", ["", "127", "8"]),
             field("terminal-type", "ENUM", TERMINAL_TYPES)),
        _typescript(),
        _recording(),
        _wol(),
    ]


def _vnc() -> list[Form]:
    return [
        form("network", field("hostname"), field("port", "NUMERIC")),
        form("authentication", field("username", "USERNAME"), field("password", "PASSWORD")),
        form("display", boolean("read-only"), boolean("swap-red-blue"),
             field("cursor", "ENUM", ["", "local", "remote"]),
             field("color-depth", "ENUM", ["", "8", "16", "24", "32"]),
             boolean("force-lossless")),
        _clipboard(field("clipboard-encoding", "ENUM",
                         ["", "ISO8859-1", "UTF-8", "UTF-16", "CP1252"])),
        form("repeater", field("dest-host"), field("dest-port", "NUMERIC")),
        _recording(),
        _full_sftp(),
        form("audio", boolean("enable-audio"), field("audio-servername")),
        _wol(),
    ]


def _rdp() -> list[Form]:
    return [
        form("network", field("hostname"), field("port", "NUMERIC")),
        form("authentication", field("username", "USERNAME"), field("password", "PASSWORD"),
             field("domain"),
             field("security", "ENUM", ["", "rdp", "tls", "nla", "vmconnect", "any"]),
             boolean("disable-auth"), boolean("ignore-cert")),
        form("gateway", field("gateway-hostname"), field("gateway-port", "NUMERIC"),
             field("gateway-username", "USERNAME"), field("gateway-password", "PASSWORD"),
             field("gateway-domain")),
        form("basic-parameters", field("initial-program"), field("client-name"),
             field("server-layout", "ENUM", RDP_LAYOUTS), field("timezone", "TIMEZONE"),
             boolean("enable-touch"), boolean("console")),
        form("display", field("width", "NUMERIC"), field("height", "NUMERIC"),
             field("dpi", "NUMERIC"),
             field("color-depth", "ENUM", ["", "8", "16", "24", "32"]),
             boolean("force-lossless"),
             field("resize-method", "ENUM", ["", "reconnect", "display-update"]),
             boolean("read-only")),
        _clipboard(field("normalize-clipboard", "ENUM", ["", "preserve", "unix", "windows"])),
        form("device-redirection", boolean("console-audio"), boolean("disable-audio"),
             boolean("enable-audio-input"), boolean("enable-printing"),
             field("printer-name"), boolean("enable-drive"), field("drive-name"),
             boolean("disable-download"), boolean("disable-upload"), field("drive-path"),
             boolean("create-drive-path"), field("static-channels")),
        form("performance", boolean("enable-wallpaper"), boolean("enable-theming"),
             boolean("enable-font-smoothing"), boolean("enable-full-window-drag"),
             boolean("enable-desktop-composition"), boolean("enable-menu-animations"),
             boolean("disable-bitmap-caching"), boolean("disable-offscreen-caching"),
             boolean("disable-glyph-caching")),
        form("remoteapp", field("remote-app"), field("remote-app-dir"), field("remote-app-args")),
        form("preconnection-pdu", field("preconnection-id", "NUMERIC"),
             field("preconnection-blob")),
        form("load-balancing", field("load-balance-info")),
        _recording(touch=True),
        _full_sftp(),
        _wol(),
    ]


def _kubernetes() -> list[Form]:
    return [
        form("network", field("hostname"), field("port", "NUMERIC"), boolean("use-ssl"),
             boolean("ignore-cert"), field("ca-cert", "MULTILINE")),
        form("container", field("namespace"), field("pod"), field("container"),
             field("exec-command")),
        form("authentication", field("client-cert", "MULTILINE"),
             field("client-key", "MULTILINE")),
        _terminal_display(),
        form("behavior", field("backspace", "ENUM", ["", "127", "8"])),
        _typescript(),
        _recording(),
    ]


def protocols() -> dict[str, dict[str, Any]]:
    builders = {"kubernetes": _kubernetes, "rdp": _rdp, "ssh": _ssh,
                "telnet": _telnet, "vnc": _vnc}
    return {
        name: {"name": name, "connectionForms": build(),
               "sharingProfileForms": [dict(f) for f in SHARING_PROFILE_FORMS]}
        for name, build in builders.items()
    }


# --- attribute schemas (JDBC auth extension) -------------------------------

USER_PROFILE_FIELDS = [
    field("guac-full-name"), field("guac-email-address", "EMAIL"),
    field("guac-organization"), field("guac-organizational-role"),
]


def user_restriction_fields(is_16: bool) -> list[Field]:
    # 1.6 moved `disabled` out of the attributes into a top-level boolean.
    fields = [] if is_16 else [boolean("disabled")]
    return fields + [
        boolean("expired"), field("access-window-start", "TIME"),
        field("access-window-end", "TIME"), field("valid-from", "DATE"),
        field("valid-until", "DATE"), field("timezone", "TIMEZONE"),
    ]


def user_attribute_forms(is_16: bool) -> list[Form]:
    return [form("profile", *USER_PROFILE_FIELDS),
            form("restrictions", *user_restriction_fields(is_16))]


def user_group_attribute_forms(is_16: bool) -> list[Form]:
    return [] if is_16 else [form("restrictions", boolean("disabled"))]


def connection_attribute_forms() -> list[Form]:
    return [
        form("concurrency", field("max-connections", "NUMERIC"),
             field("max-connections-per-user", "NUMERIC")),
        form("load-balancing", field("weight", "NUMERIC"), boolean("failover-only")),
        form("guacd", field("guacd-hostname"), field("guacd-port", "NUMERIC"),
             field("guacd-encryption", "ENUM", ["", "none", "ssl"])),
    ]


def connection_group_attribute_forms() -> list[Form]:
    return [form("concurrency", field("max-connections", "NUMERIC"),
                 field("max-connections-per-user", "NUMERIC"),
                 boolean("enable-session-affinity"))]


def sharing_profile_attribute_forms() -> list[Form]:
    return []


def user_preference_attribute_forms() -> list[Form]:
    return []


def fields_of(forms: list[Form]) -> dict[str, Field]:
    return {f["name"]: f for frm in forms for f in frm["fields"]}
