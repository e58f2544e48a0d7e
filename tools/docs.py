"""`make docs`: one Markdown page per module and plugin in docs/modules/, from their DOCUMENTATION,
EXAMPLES and RETURN as ansible-doc reads them (doc fragments included).

    python tools/docs.py           # write docs/modules/
    python tools/docs.py --check   # exit 1 when a page is missing or out of date
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "modules"
BIN = Path(sys.executable).parent
MARKUP = [
    (re.compile(r"L\(([^)]+?),\s*([^)]+)\)"), r"[\1](\2)"),
    (re.compile(r"U\(([^)]+)\)"), r"<\1>"),
    (re.compile(r"I\(([^)]+)\)"), r"*\1*"),
    (re.compile(r"B\(([^)]+)\)"), r"**\1**"),
    (re.compile(r"M\(([^)]+)\)"), r"`\1`"),
    (re.compile(r"(?:C|O|V|E|RV)\(([^()]*(?:\([^()]*\)[^()]*)*)\)"), r"`\1`"),
]


def source_files(folder):
    """The .py files of a plugin folder that git tracks (what ships; work in progress is left out),
    or every one where there is no git."""
    try:
        listed = subprocess.run(["git", "ls-files", "--", f"plugins/{folder}/*.py"], cwd=REPO,
                                capture_output=True, text=True, check=True).stdout.split()
        return sorted(REPO / name for name in listed)
    except (OSError, subprocess.CalledProcessError):
        return sorted((REPO / "plugins" / folder).glob("*.py"))


def plugins():
    """(type, name) of every module and inventory plugin of the collection."""
    found = [("module", path.stem) for path in source_files("modules")]
    found += [("inventory", path.stem) for path in source_files("inventory") if path.stem != "__init__"]
    return found


def read_docs(kind, names):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / "build" / "collections"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([str(BIN / "ansible-doc"), "--json", "-t", kind]
                          + [f"proxgate.core.{name}" for name in names],
                          capture_output=True, text=True, env=env, check=False)
    if proc.returncode or proc.stderr.strip():
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
        if spec.get("suboptions"):
            rows += option_rows(spec["suboptions"], prefix=f"{prefix}{name}.")
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


def pages():
    result = {}
    by_kind = {}
    for kind, name in plugins():
        by_kind.setdefault(kind, []).append(name)
    for kind, names in by_kind.items():
        docs = read_docs(kind, names)
        for name in names:
            result[f"{name}.md"] = render(kind, name, docs[f"proxgate.core.{name}"])
    index = ["# Modules and plugins", ""]
    for page, body in sorted(result.items()):
        summary = body.splitlines()[2].strip("*")
        index.append(f"- [proxgate.core.{page[:-3]}]({page}): {summary}")
    result["README.md"] = "\n".join(index) + "\n"
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report pages that are missing or stale")
    args = parser.parse_args()
    wanted = pages()
    if args.check:
        stale = sorted(name for name, body in wanted.items()
                       if not (OUT / name).exists() or (OUT / name).read_text() != body)
        extra = sorted(path.name for path in OUT.glob("*.md") if path.name not in wanted) if OUT.exists() else []
        if stale or extra:
            print("docs/modules is out of date (run make docs): " + ", ".join(stale + extra))
            return 1
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    for path in OUT.glob("*.md"):
        if path.name not in wanted:
            path.unlink()
    for name, body in wanted.items():
        (OUT / name).write_text(body)
    print(f"wrote {len(wanted)} pages to {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
