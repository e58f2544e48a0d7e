"""`make docs`: one Markdown page per module, plugin and role, from what ansible-doc reads of them
(DOCUMENTATION, EXAMPLES and RETURN with the doc fragments; a role's meta/argument_specs.yml):

    docs/modules/<module>.md        docs/modules/README.md  (index)
    docs/plugins/<type>/<name>.md   docs/plugins/README.md  (the inventory plugin; a plugin's name may be a
                                                             module's too, so plugins get their own tree)
    docs/roles/<role>.md            docs/roles/README.md

Only what git tracks gets a page (what ships; work in progress is left out), or everything without git.

    python tools/docs.py                   # write the pages
    python tools/docs.py --check           # exit 1 when a page is missing, stale or left over
    python tools/docs.py --out DIR [...]   # the same with DIR instead of docs/
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

try:
    from tools.library_warnings import without_library_deprecations
except ImportError:  # run as a script, with tools/ first on sys.path
    from library_warnings import without_library_deprecations

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
COLLECTION_LINK = REPO / "build" / "collections" / "ansible_collections" / "proxgate" / "core"
SECTIONS = ("modules", "plugins", "roles")
BIN = Path(sys.executable).parent
MARKUP = [
    (re.compile(r"L\(([^)]+?),\s*([^)]+)\)"), r"[\1](\2)"),
    (re.compile(r"U\(([^)]+)\)"), r"<\1>"),
    (re.compile(r"I\(([^)]+)\)"), r"*\1*"),
    (re.compile(r"B\(([^)]+)\)"), r"**\1**"),
    (re.compile(r"M\(([^)]+)\)"), r"`\1`"),
    (re.compile(r"(?:C|O|V|E|RV)\(([^()]*(?:\([^()]*\)[^()]*)*)\)"), r"`\1`"),
]


def tracked(pattern):
    """The repository's files matching a git pathspec that git tracks, or None where there is no git."""
    try:
        listed = subprocess.run(["git", "ls-files", "--", pattern], cwd=REPO, capture_output=True, text=True,
                                check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return None
    return sorted(REPO / name for name in listed)


def source_files(folder):
    """The .py files of a plugin folder that git tracks, or every one where there is no git."""
    found = tracked(f"plugins/{folder}/*.py")
    return found if found is not None else sorted((REPO / "plugins" / folder).glob("*.py"))


def plugins():
    """(type, name) of every module, inventory plugin and filter plugin of the collection."""
    found = [("module", path.stem) for path in source_files("modules")]
    found += [("inventory", path.stem) for path in source_files("inventory") if path.stem != "__init__"]
    found += [("filter", path.stem) for path in source_files("filter") if path.stem != "__init__"]
    return found


def roles():
    """Names of the roles with a meta/argument_specs.yml that git tracks (or every one without git)."""
    found = tracked("roles/*/meta/argument_specs.yml")
    if found is None:
        found = sorted(REPO.glob("roles/*/meta/argument_specs.yml"))
    return [path.parent.parent.name for path in found]


def ensure_collection_link():
    """build/collections/ansible_collections/proxgate/core -> the repository, where ansible-doc finds it (as
    `make collection` and the tests make it)."""
    if not COLLECTION_LINK.exists():
        COLLECTION_LINK.parent.mkdir(parents=True, exist_ok=True)
        COLLECTION_LINK.symlink_to(Path("../../../.."))


def read_docs(kind, names):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / "build" / "collections"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([str(BIN / "ansible-doc"), "--json", "-t", kind]
                          + [f"proxgate.core.{name}" for name in names],
                          capture_output=True, text=True, env=env, check=False)
    if proc.returncode or without_library_deprecations(proc.stderr).strip():
        raise SystemExit(f"ansible-doc failed:\n{proc.stderr}")
    return json.loads(proc.stdout)


def text(value):
    """Ansible doc markup as Markdown; lists become paragraphs."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "<br>".join(text(item) for item in value)
    result = str(value)
    for pattern, replacement in MARKUP:
        result = pattern.sub(replacement, result)
    return result.replace("|", "\\|").replace("\n", " ")


def option_rows(options, prefix=""):
    rows = []
    for name, spec in sorted(options.items()):
        kind = spec.get("type", "str")
        if kind == "list" and spec.get("elements"):
            kind = f"list of {spec['elements']}"
        details = [text(spec.get("description"))]
        if spec.get("choices"):
            details.append("Choices: " + ", ".join(f"`{choice}`" for choice in spec["choices"]))
        if spec.get("default") is not None:
            details.append(f"Default: `{json.dumps(spec['default'])}`")
        envs = [entry["name"] for entry in spec.get("env") or []]
        if envs:
            details.append("Environment: " + ", ".join(f"`{env}`" for env in envs))
        required = " (required)" if spec.get("required") else ""
        rows.append(f"| `{prefix}{name}`{required} | {kind} | {'<br>'.join(d for d in details if d)} |")
        suboptions = spec.get("suboptions") or spec.get("options")
        if suboptions:
            rows += option_rows(suboptions, prefix=f"{prefix}{name}.")
    return rows


def return_rows(values, prefix=""):
    rows = []
    for name, spec in sorted((values or {}).items()):
        rows.append(f"| `{prefix}{name}` | {spec.get('type', '')} | {text(spec.get('returned'))} | "
                    f"{text(spec.get('description'))} |")
        if spec.get("contains"):
            rows += return_rows(spec["contains"], prefix=f"{prefix}{name}.")
    return rows


def render(kind, name, entry):
    doc = entry["doc"]
    lines = [f"# proxgate.core.{name}", "", f"**{text(doc.get('short_description'))}**", "",
             f"*{kind}, added in version {doc.get('version_added', '?')}*", ""]
    lines += [text(paragraph) + "\n" for paragraph in doc.get("description") or []]
    if doc.get("requirements"):
        lines += ["## Requirements", ""] + [f"- {text(item)}" for item in doc["requirements"]] + [""]
    lines += ["## Options", "", "| option | type | description |", "| --- | --- | --- |"]
    lines += option_rows(doc.get("options") or {}) + [""]
    if doc.get("attributes"):
        lines += ["## Attributes", "", "| attribute | support | details |", "| --- | --- | --- |"]
        for attribute, spec in sorted(doc["attributes"].items()):
            details = text(spec.get("details") or spec.get("description"))
            lines.append(f"| {attribute} | {spec.get('support', '')} | {details} |")
        lines.append("")
    if doc.get("notes"):
        lines += ["## Notes", ""] + [f"- {text(note)}" for note in doc["notes"]] + [""]
    if entry.get("examples"):
        lines += ["## Examples", "", "```yaml", entry["examples"].strip("\n"), "```", ""]
    if entry.get("return"):
        lines += ["## Return values", "", "| key | type | returned | description |", "| --- | --- | --- | --- |"]
        lines += return_rows(entry["return"]) + [""]
    if doc.get("seealso"):
        lines += ["## See also", ""]
        lines += [f"- [{item['module']}]({item['module'].rsplit('.', 1)[-1]}.md)" if "module" in item
                  else f"- {text(item.get('description') or item.get('link'))}" for item in doc["seealso"]]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def render_role(name, entry):
    entry_points = entry["entry_points"]
    # An internal role (common) has no main entry point: its page is headed by what its entry points are.
    main = entry_points.get("main") or {
        "short_description": "Internal - " + "; ".join(f"{point}: {spec.get('short_description', '')}".replace(
            "Internal - ", "") for point, spec in sorted(entry_points.items())),
        "version_added": min((str(spec.get("version_added", "?")) for spec in entry_points.values()), default="?",
                             key=lambda version: [int(part) if part.isdigit() else -1 for part in version.split(".")])}
    lines = [f"# proxgate.core.{name}", "", f"**{text(main.get('short_description'))}**", "",
             f"*role, added in version {main.get('version_added', '?')}*", "",
             f"Its README, with examples: [roles/{name}/README.md](../../roles/{name}/README.md)", ""]
    for point, spec in sorted(entry_points.items(), key=lambda item: item[0] != "main"):
        if point != "main":
            lines += [f"## Entry point `{point}`", "", f"**{text(spec.get('short_description'))}**", ""]
        lines += [text(paragraph) + "\n" for paragraph in as_list(spec.get("description"))]
        heading = "## Variables" if point == "main" else "### Variables"
        lines += [heading, "", "| variable | type | description |", "| --- | --- | --- |"]
        lines += option_rows(spec.get("options") or {}) + [""]
    return "\n".join(lines).rstrip("\n") + "\n"


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def index(title, intro, section_pages, prefix=""):
    lines = [f"# {title}", "", intro, ""]
    for page, body in sorted(section_pages.items()):
        summary = body.splitlines()[2].strip("*")
        name = page.rsplit("/", 1)[-1][:-3]
        lines.append(f"- [proxgate.core.{name}]({prefix}{page}): {summary}")
    return "\n".join(lines) + "\n"


def pages():
    """{path below docs/: Markdown} of every page and index."""
    modules, plugin_pages, role_pages = {}, {}, {}
    by_kind = {}
    for kind, name in plugins():
        by_kind.setdefault(kind, []).append(name)
    for kind, names in by_kind.items():
        docs = read_docs(kind, names)
        for name in names:
            body = render(kind, name, docs[f"proxgate.core.{name}"])
            if kind == "module":
                modules[f"{name}.md"] = body
            else:
                plugin_pages[f"{kind}/{name}.md"] = body
    role_names = roles()
    if role_names:
        docs = read_docs("role", role_names)
        for name in role_names:
            role_pages[f"{name}.md"] = render_role(name, docs[f"proxgate.core.{name}"])
    see_also = "Plugins are in [../plugins/](../plugins/README.md), roles in [../roles/](../roles/README.md)."
    modules["README.md"] = index("Modules", see_also, modules)
    plugin_pages["README.md"] = index(
        "Plugins", "Modules are in [../modules/](../modules/README.md), roles in [../roles/](../roles/README.md).",
        plugin_pages)
    role_pages["README.md"] = index(
        "Roles", "Each page lists the variables of the role's `meta/argument_specs.yml`, which the role checks "
        "when it starts. Modules are in [../modules/](../modules/README.md), plugins in "
        "[../plugins/](../plugins/README.md).", role_pages)
    result = {}
    for section, section_pages in zip(SECTIONS, (modules, plugin_pages, role_pages), strict=True):
        result.update({f"{section}/{page}": body for page, body in section_pages.items()})
    return result


def existing_pages(out):
    return {str(path.relative_to(out)) for section in SECTIONS for path in (out / section).rglob("*.md")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report pages that are missing, stale or left over")
    parser.add_argument("--out", type=Path, default=DOCS, help="the docs directory (default: docs/)")
    args = parser.parse_args()
    out = args.out.resolve()
    ensure_collection_link()
    wanted = pages()
    if args.check:
        stale = sorted(name for name, body in wanted.items()
                       if not (out / name).exists() or (out / name).read_text() != body)
        extra = sorted(existing_pages(out) - set(wanted))
        if stale or extra:
            print("the generated docs are out of date (run make docs): " + ", ".join(stale + extra))
            return 1
        return 0
    for name in existing_pages(out) - set(wanted):
        (out / name).unlink()
    for name, body in wanted.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(body)
    print(f"wrote {len(wanted)} pages to {', '.join(f'{out.name}/{section}' for section in SECTIONS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
