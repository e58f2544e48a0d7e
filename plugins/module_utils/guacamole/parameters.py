# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection and sharing profile parameters and attributes: checking them against the server's schema,
and planning the full set a PUT must send (Guacamole removes every parameter a PUT leaves out).

All values are strings on the wire. Guacamole does not store empty parameters, and reads a boolean
parameter as set only when it is ``"true"``; so here ``""`` (or ``None``, or ``false``) means "not set".
"""

from __future__ import annotations

import difflib
import re

from ansible_collections.proxgate.core.plugins.module_utils.guacamole.client import GuacamoleError

# Write-only values: never shown, and with update_password=on_create never compared once the object exists.
SECRET_PARAMETERS = frozenset({
    "password", "passphrase", "private-key", "client-key", "sftp-password", "sftp-passphrase",
    "sftp-private-key", "gateway-password", "recording-password",
})
SECRET_SUFFIXES = ("password", "passphrase", "private-key")
TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0", "")
PROTOCOLS = ("vnc", "rdp", "ssh", "telnet", "kubernetes")


# Parameter and attribute values are VARCHAR(4096) columns in Guacamole's JDBC schema (guacamole-client
# extensions/guacamole-auth-jdbc/modules/guacamole-auth-jdbc-postgresql/schema/001-create-schema.sql:
# guacamole_connection_parameter, guacamole_sharing_profile_parameter, the *_attribute tables); 1.6 checks it
# itself (ConnectionService.CONNECTION_PARAMETER_VALUE_LIMIT).
VALUE_MAX_LENGTH = 4096


class ParameterError(GuacamoleError, ValueError):
    """A parameter or attribute the server would refuse, drop or misread; the text names it."""


def is_secret_parameter(name, field=None):
    """Whether a parameter's value is a secret: a PASSWORD field of the schema, or a name that says so."""
    if field is not None and field.get("type") == "PASSWORD":
        return True
    name = str(name).lower()
    return name in SECRET_PARAMETERS or name.endswith(SECRET_SUFFIXES)


def secret_names(names, fields=None):
    """The names among names that are secret."""
    fields = fields or {}
    return {name for name in names if is_secret_parameter(name, fields.get(name))}


def form_fields(forms):
    """{field name: field} of a list of forms (each {name, fields: [{name, type, options?}]})."""
    return {field["name"]: field for form in forms or [] for field in form.get("fields") or [] if "name" in field}


def protocol_fields(protocols, protocol, forms_key="connectionForms"):
    """The parameter fields of a protocol from GET schema/protocols; ParameterError for an unknown protocol."""
    if protocol not in (protocols or {}):
        known = ", ".join(sorted(protocols or {}))
        raise ParameterError(f"protocol {protocol!r} is not one the server knows; it knows {known}")
    return form_fields(protocols[protocol].get(forms_key))


def _unknown_message(where, name, known, what):
    close = difflib.get_close_matches(name, known, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return f"{where}: unknown {what} {name!r}.{hint} Known: {', '.join(sorted(known))}"


def _as_text(where, name, value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else ""
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    raise ParameterError(f"{where}.{name}: expected a string, number or boolean, got {type(value).__name__}")


def _field_value(where, name, value, field):
    """value as the field stores it; ParameterError for one the field cannot take."""
    text = _as_text(where, name, value)
    field_type = (field or {}).get("type")
    if field_type == "BOOLEAN":
        lowered = text.strip().lower()
        if lowered in TRUE_WORDS:
            return "true"
        if lowered in FALSE_WORDS:
            return ""
        raise ParameterError(f"{where}.{name}: expected a boolean (true or false), got {text!r}")
    if field_type == "NUMERIC" and text != "" and not re.fullmatch(r"-?\d+", text.strip()):
        raise ParameterError(f"{where}.{name}: expected a whole number, got {text!r}")
    if field_type == "NUMERIC":
        return text.strip()
    if field_type == "ENUM" and field.get("options") is not None and text not in field["options"]:
        choices = ", ".join(option for option in field["options"] if option)
        raise ParameterError(f"{where}.{name}: expected one of {choices} (or empty), got {text!r}")
    return text


def normalize_values(given, fields, where="parameters", allow_unknown=False, what="parameter"):
    """given (a dict) with every value as the server stores it: strings, booleans "true" or "", unset "".

    A name not among fields is refused (naming the close matches) unless allow_unknown.
    """
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise ParameterError(f"{where} must be a dict of name -> value")
    normalized = {}
    for name, value in given.items():
        name = str(name)
        field = fields.get(name)
        if field is None and not allow_unknown:
            raise ParameterError(_unknown_message(where, name, fields, what))
        normalized[name] = _field_value(where, name, value, field)
        length = stored_length(normalized[name])
        if length > VALUE_MAX_LENGTH:
            # The value itself is never shown: it may be a key or a password.
            hint = (" A key of that size is usually RSA 8192: a 4096-bit RSA or an Ed25519 key fits."
                    if "key" in name else "")
            raise ParameterError(f"{where}.{name}: the value has {length} characters, and Guacamole stores at most "
                                 f"{VALUE_MAX_LENGTH} (a VARCHAR({VALUE_MAX_LENGTH}) column: Guacamole 1.6 answers "
                                 f"413, 1.5 fails with a database error).{hint}")
    return normalized


def stored_length(value):
    """The length Guacamole checks: Java counts UTF-16 code units (a character beyond U+FFFF is two)."""
    return len(str(value).encode("utf-16-le")) // 2


def plan_parameters(current, desired, exists, secrets=(), update_password="always", purge=False):
    """(the full parameter set to send, {name: (before, after)} of what differs).

    current: the stored parameters (GET .../parameters), {} for a new object. desired: normalized values,
    "" meaning "not set". With update_password=on_create, an existing object's secrets are kept as stored,
    whatever desired says. With purge, stored parameters that desired does not name are removed.
    """
    current = {name: value for name, value in (current or {}).items() if value not in (None, "")}
    final = {} if purge else dict(current)
    keep_secrets = exists and update_password == "on_create"
    for name in secrets if keep_secrets else ():
        if name in current:
            final[name] = current[name]
    for name, value in desired.items():
        if keep_secrets and name in secrets:
            continue
        if value == "":
            final.pop(name, None)
        else:
            final[name] = value
    changes = {name: (current.get(name), final.get(name))
               for name in sorted(set(current) | set(final)) if current.get(name) != final.get(name)}
    return final, changes


def plan_attributes(current, desired):
    """(the full attribute map to send, {name: (before, after)} of what differs).

    A PUT clears the attributes it leaves out, so every current one is sent back; unset is null or "".
    """
    current = dict(current or {})
    final = dict(current)
    changes = {}
    for name, value in desired.items():
        before = current.get(name)
        if (before or "") != (value or ""):
            changes[name] = (before, value or None)
        final[name] = value if value != "" else None
    return final, changes
