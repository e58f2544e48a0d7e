"""Shared by every test: the collection is importable as ansible_collections.proxgate.core."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COLLECTION_LINK = REPO / "build" / "collections" / "ansible_collections" / "proxgate" / "core"


def ensure_collection_link():
    """build/collections/ansible_collections/proxgate/core -> the repository (pytest.ini puts it on sys.path)."""
    if not COLLECTION_LINK.exists():
        COLLECTION_LINK.parent.mkdir(parents=True, exist_ok=True)
        COLLECTION_LINK.symlink_to(Path("../../../.."))


# At import, before any test module imports the collection.
ensure_collection_link()
