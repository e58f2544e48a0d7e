# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base of the modules that manage one Guacamole object (connection, connection group, sharing profile,
user, user group): common.object_module's state machine on a logged-in Guacamole client, with the object's
API directory, and the reads, writes and checks these modules share.

A module sets ``directory`` (the API's collection: ``connections``, ``users``), ``needs`` (what the API user
needs, for a PERMISSION_DENIED error), ``object_key`` and ``gone``, and implements the hooks of
``ObjectModule``. Objects in the connection tree are known by their identifier, users and user groups by their
name; either is the ``key`` of the object methods below.
"""

from __future__ import annotations

from ansible_collections.proxgate.core.plugins.module_utils.common.diff import mask_secrets
from ansible_collections.proxgate.core.plugins.module_utils.common.object_module import ObjectModule
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.client import GuacamoleApiError, path_of
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.memberships import (
    MembershipPlan,
    members_after,
    membership_changes,
    membership_patch,
)
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.module import GuacamoleModule
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.parameters import (
    form_fields,
    normalize_values,
    plan_attributes,
    plan_parameters,
    protocol_fields,
    secret_names,
)

DISABLED_ATTRIBUTE = "disabled"


def secret_texts(values, secrets):
    """The texts of the secret values, for Ansible to mask wherever they appear."""
    return {str(values[name]) for name in secrets if name in values and values[name] not in (None, "", False)}


def planned_changes(changes, **planned):
    """changes (a Changes) with one key per plan of plan_parameters/plan_attributes ({name: (before, after)})
    that is not empty: the names' values before and after."""
    for key, plan in planned.items():
        if plan:
            changes.add(key, {name: before for name, (before, _unused) in plan.items()},
                        {name: after for name, (_unused, after) in plan.items()})
    return changes


def new_attributes(attributes):
    """The attributes of a new object as they are sent: unset ("") as null."""
    return {name: value or None for name, value in attributes.items()}


def shown_parameters(parameters, secrets):
    """Parameters as a result shows them: sorted by name, the secret ones masked."""
    return mask_secrets(dict(sorted(parameters.items())), secrets)


def encode_attribute(value):
    """A user or user group attribute as the server stores it: booleans 'true'/'false', unset ('') None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def unknown_attributes(attributes, schema_forms):
    """The names in attributes the server does not declare (schema: a list of forms with fields)."""
    return sorted(set(attributes or {}) - set(form_fields(schema_forms)))


def attributes_errors(attributes, options=None):
    """Messages for free-form user or user group attributes that an option sets instead, or that are no text.

    options: {attribute: the option that sets it}."""
    errors = []
    for name, value in (attributes or {}).items():
        if name == DISABLED_ATTRIBUTE:
            errors.append("attributes must not set 'disabled': use the disabled option, which works on "
                          "Guacamole 1.5 and 1.6 alike")
        elif name in (options or {}):
            errors.append(f"attributes must not set {name!r}: use the {options[name]} option")
        elif isinstance(value, (dict, list)):
            errors.append(f"attributes[{name!r}] must be a string, got {type(value).__name__}")
    return errors


class GuacamoleObjectModule(ObjectModule, GuacamoleModule):
    """A Guacamole module that manages one object; see the module docstring."""

    directory = ""
    needs = "a permission this needs (the module's notes list them)"

    def permission_hint(self, exc):
        return f"user {self.params['api_username']!r} lacks {self.needs}"

    def hide_secret_parameters(self):
        """Have Ansible mask the secret values of the parameters option wherever they appear (call it first in
        validate(), so that even a failure there shows none)."""
        given = self.params["parameters"] or {}
        self.module.no_log_values.update(secret_texts(given, secret_names(given)))

    # ------------------------------------------------------------------ reads

    def object_path(self, key, *more):
        return path_of(self.directory, key, *more)

    def read_object(self, key):
        """GET the object (a user, a user group) by its key; None when there is none."""
        try:
            return self.client.get(self.object_path(key))
        except GuacamoleApiError as exc:
            if exc.missing:
                return None
            raise

    def schema_values(self, given, schema, **options):
        """given (an option's dict) normalized and checked against the fields of GET schema; ParameterError."""
        return normalize_values(given, form_fields(self.client.get(schema)), **options)

    def protocol_values(self, protocol, attributes_schema, forms_key="connectionForms"):
        """(parameters, attributes, the protocol's parameter fields) of the options, normalized and checked
        against GET schema/protocols and the attributes' schema; ParameterError."""
        fields = protocol_fields(self.client.get("schema/protocols"), protocol, forms_key)
        parameters = normalize_values(self.params["parameters"], fields, where="parameters",
                                      allow_unknown=self.params["allow_unknown_parameters"])
        attributes = self.schema_values(self.params["attributes"], attributes_schema, where="attributes",
                                        what="attribute")
        return parameters, attributes, fields

    def shown_place(self, place):
        """place (see post_configured) as the module's result shows it; a module may add to it."""
        return place

    def configured_view(self, identifier, place, parameters, attributes, secrets):
        """A connection or sharing profile as the module returns it: its identifier and name (the name option),
        shown_place(place), its parameters (sorted, the secret ones masked) and attributes."""
        return dict(identifier=identifier, name=self.params["name"], **self.shown_place(place),
                    parameters=shown_parameters(parameters, secrets), attributes=attributes)

    def post_configured(self, place, desired):
        """POST a new connection or sharing profile named by the name option, with place (the fields that say
        where it is: its group or its primary connection, and a connection's protocol) and the parameters and
        attributes of desired (protocol_values()'). Returns it as configured_view() shows it (identifier None in
        check mode)."""
        parameters, attributes, fields = desired
        final_parameters, _unused = plan_parameters({}, parameters, exists=False)
        final_attributes = new_attributes(attributes)
        identifier = self.post_object(dict(name=self.params["name"], **place, parameters=final_parameters,
                                           attributes=final_attributes))
        return self.configured_view(identifier, place, final_parameters, final_attributes,
                                    secret_names(parameters, fields))

    def put_configured(self, existing, place, desired, changes, **options):
        """Update a connection or sharing profile (existing, as its directory lists it) to desired
        (protocol_values()'): the stored parameters are read, what differs is added to changes (whose diff masks
        the secrets), and when changes holds anything the object is PUT whole, with place (see post_configured).
        Returns (it as configured_view() shows it, {parameter: (before, after)}); options go to plan_parameters."""
        parameters, attributes, fields = desired
        identifier = existing["identifier"]
        stored = self.client.get(self.object_path(identifier, "parameters")) or {}
        secrets = secret_names(set(parameters) | set(stored), fields)
        final_parameters, parameter_changes = plan_parameters(stored, parameters, exists=True, secrets=secrets,
                                                              purge=self.params["purge_parameters"], **options)
        final_attributes, attribute_changes = plan_attributes(existing.get("attributes"), attributes)
        changes.secret_keys |= secrets
        planned_changes(changes, parameters=parameter_changes, attributes=attribute_changes)
        if changes:
            self.put_object(identifier, dict(name=existing["name"], identifier=identifier, **place,
                                             parameters=final_parameters, attributes=final_attributes))
        view = self.configured_view(identifier, place, final_parameters, final_attributes, secrets)
        return view, parameter_changes

    def check_attribute_names(self, schema, noun):
        """Fail for an attribute the server does not declare: it would drop it silently."""
        attributes = self.params["attributes"]
        if not attributes:
            return
        unknown = unknown_attributes(attributes, self.client.get(schema))
        if unknown:
            self.fail(f"attributes: the server declares no {noun} attribute {', '.join(repr(n) for n in unknown)} "
                      f"(see GET {schema}); Guacamole would drop it silently")

    def check_names_exist(self, option, directory, noun):
        """Fail when a name to add does not exist in directory: the server would ignore it and report success."""
        names = self.params[option]
        if names is None or self.params[f"{option}_mode"] == "remove":
            return
        missing = sorted(set(names) - set(self.client.get(directory) or {}))
        if missing:
            self.fail(f"{option}: no {noun} named {', '.join(repr(n) for n in missing)} in data source "
                      f"{self.client.data_source!r} (or the API user {self.client.username!r} cannot see it)")

    def read_list(self, key, resource):
        """A membership list of the object (GET <directory>/<key>/<resource>)."""
        return self.client.get(self.object_path(key, resource)) or []

    def plan_members(self, key, resource, option, exists=True):
        """The MembershipPlan of the membership list <resource> of the object (GET <directory>/<key>/<resource>)
        for the option and its <option>_mode; the list is read, unless exists is false (an object still to create
        has none). When the option is not given the list is left alone: before and after are None."""
        names = self.params[option]
        if names is None:
            return MembershipPlan(None, [], [], None)
        before = sorted(self.read_list(key, resource)) if exists else []
        add, remove = membership_changes(before, names, self.params[f"{option}_mode"])
        return MembershipPlan(before, add, remove, members_after(before, add, remove))

    def disabled_change(self, current):
        """(before, after) of a user's or user group's disabled flag: the disabled option wins when given."""
        before = self.client.is_disabled(current)
        return before, before if self.params["disabled"] is None else self.params["disabled"]

    # ------------------------------------------------------------------ writes (through self.write)

    def post_object(self, body):
        """POST a new object; its identifier (None in check mode)."""
        reply = self.write(self.client.post, self.directory, body)
        return None if self.check_mode else str(reply.get("identifier"))

    def put_object(self, key, body):
        self.write(self.client.put, self.object_path(key), body)

    def delete_object(self, key):
        self.write(self.client.delete, self.object_path(key))

    def put_account(self, key, body, attributes, wanted, disabled):
        """PUT a user or user group whole, as the server replaces it: body with the current attributes and the
        wanted ones merged, and `disabled` in the server's form (a 1.6 PUT without it enables the account)."""
        self.put_object(key, self.client.set_disabled(dict(body, attributes={**attributes, **wanted}), disabled))

    def patch_list(self, key, resource, add, remove):
        """Add and remove names of a membership list, in one PATCH; nothing when there is nothing to do."""
        if add or remove:
            self.write(self.client.patch, self.object_path(key, resource), membership_patch(add, remove))
