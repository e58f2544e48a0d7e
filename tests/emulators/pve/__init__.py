"""The Proxmox test server: fakepve (PyPI) with the project's additions. Never imported by the collection."""

from .guests import add_demo_image, demo_guests, generate_guests
from .server import ProxgatePve, ServedPve, agent_interfaces, load_guests, write_requests

__all__ = ["ProxgatePve", "ServedPve", "add_demo_image", "agent_interfaces", "demo_guests", "generate_guests",
           "load_guests", "write_requests"]
