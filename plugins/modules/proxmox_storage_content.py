#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_storage_content
short_description: Download or upload an ISO image, a container template or an import image to a Proxmox VE storage
version_added: 0.1.0
description:
  - Makes sure a file is on a storage of a node (O(state=present)), or is not (O(state=absent)). The file is known by
    its volume id, C(<storage>:<content>/<filename>), such as C(local:iso/debian-13.0.0-amd64-netinst.iso).
  - With O(url) the node downloads the file itself (C(POST /nodes/<node>/storage/<storage>/download-url)); with
    O(src) the module uploads a file of the host it runs on (C(POST .../upload)). Either way the node verifies
    O(checksum) when given and keeps nothing when it does not match.
  - A volume that is already there is left as it is - nothing is downloaded, uploaded or compared. To replace a
    file, remove it first (O(state=absent)), or give the new one another name.
  - O(state=absent) deletes the volume (C(DELETE /nodes/<node>/storage/<storage>/content/<volume>)).
  - Every task the module starts is waited for (O(timeout)).
author:
  - proxgate.core developers (@proxgate)
extends_documentation_fragment:
  - proxgate.core.proxmox
  - proxgate.core.proxmox.task_timeout
  - proxgate.core.attributes
  - proxgate.core.attributes.ACTIONGROUP_PROXMOX
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the volume id and where the file comes from.
options:
  node:
    description:
      - The node that downloads the file or receives the upload, and whose view of the storage is read.
    type: str
    required: true
  storage:
    description:
      - The storage, such as V(local). It must hold the O(content) type and be a file-based storage (directory, NFS,
        CIFS, CephFS...).
    type: str
    required: true
  content:
    description:
      - What the file is - V(iso) an ISO image (also a floppy image, C(.img)), V(vztmpl) a container template,
        V(import) a disk image or OVA to import into a VM (PVE 8.2 and later).
    type: str
    required: true
    choices: [iso, vztmpl, import]
  filename:
    description:
      - The file's name on the storage; the volume id is C(<storage>:<content>/<filename>).
      - "Letters, digits, C(_), C(.) and C(-) only, at most 255 characters, with the extension of its O(content):
        C(.iso) or C(.img) for V(iso); C(.tar), C(.tar.gz), C(.tar.xz), C(.tar.zst) or C(.tar.bz2) for V(vztmpl);
        C(.ova), C(.qcow2), C(.raw) or C(.vmdk) for V(import). A node would silently rename any other name
        (a path loses its directories, other characters become C(_)); here it is refused before any call."
      - Not set means the last part of O(url)'s path, or O(src)'s file name, under the same rules.
      - Required with O(state=absent).
    type: str
    aliases: [name]
  url:
    description:
      - An C(http://) or C(https://) URL the node downloads the file from (C(download-url)). The node itself
        connects to it, through the cluster's HTTP proxy when one is set in C(datacenter.cfg).
      - Mutually exclusive with O(src); one of them is required with O(state=present) when the file is not there.
    type: str
  src:
    description:
      - A file on the host the module runs on (the controller, with C(delegate_to) V(localhost)) to upload.
      - Mutually exclusive with O(url).
    type: path
  checksum:
    description:
      - "The file's expected digest, in hex, as O(checksum_algorithm) computes it. The node verifies it after the
        download or upload; on a mismatch its task fails (C(checksum mismatch: got '...' != expect '...')), the file
        is not kept and the module fails."
      - Checked only when the file is written; a volume already there is not read again.
    type: str
  checksum_algorithm:
    description:
      - The algorithm of O(checksum).
    type: str
    choices: [md5, sha1, sha224, sha256, sha384, sha512]
  verify_certificates:
    description:
      - Whether the node verifies the TLS certificate of O(url) (C(verify-certificates)), against the node's own
        trusted CAs. V(false) only for a server you trust by other means.
    type: bool
    default: true
  state:
    description:
      - V(present) downloads or uploads the file unless its volume is there, V(absent) deletes the volume.
    type: str
    choices: [present, absent]
    default: present
notes:
  - "Privileges: C(Datastore.AllocateTemplate) on C(/storage/<storage>) to download or upload; a download also needs
    C(Sys.AccessNetwork) on C(/nodes/<node>) (or both C(Sys.Audit) and C(Sys.Modify) on C(/)), as it lets the node
    reach any address. Deleting needs C(Datastore.Allocate) on the storage. Listing needs C(Datastore.Audit) or
    C(Datastore.AllocateSpace) on it."
  - An upload goes through the API node the module talks to, which copies the file on to O(node).
  - "Coming from community.proxmox's C(proxmox_template): its C(template) is O(filename), C(src) and C(url) are
    the same, C(content_type) is O(content), and C(checksum_algorithm) with C(checksum) are the same."
seealso:
  - module: proxgate.core.proxmox_storage_content_info
  - module: proxgate.core.proxmox_lxc
    description: Its C(ostemplate) can be RV(volume.volid) of a template this module downloaded or uploaded earlier
      in the play.
"""

EXAMPLES = r"""
- name: A Debian container template, downloaded by the node, and a container from it in the same play
  delegate_to: localhost
  block:
    - name: The template, verified by the node
      proxgate.core.proxmox_storage_content:
        node: pve1
        storage: local
        content: vztmpl
        url: http://download.proxmox.com/images/system/debian-13-standard_13.1-2_amd64.tar.zst
        checksum: "{{ debian_template_sha512 }}"
        checksum_algorithm: sha512
      register: debian_template

    - name: The container, from the volume just made (local:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst)
      proxgate.core.proxmox_lxc:
        node: pve1
        hostname: dns03
        ostemplate: "{{ debian_template.volume.volid }}"
        rootfs: local-lvm:8
        state: started

- name: An ISO image from the controller
  proxgate.core.proxmox_storage_content:
    node: pve1
    storage: local
    content: iso
    src: files/virtio-win-0.1.271.iso
    checksum: "{{ lookup('ansible.builtin.file', 'files/virtio-win-0.1.271.iso.sha256').split()[0] }}"
    checksum_algorithm: sha256
  delegate_to: localhost

- name: A cloud image to import as a VM disk (proxmox_disk import_from local:import/noble.qcow2)
  proxgate.core.proxmox_storage_content:
    node: pve1
    storage: local
    content: import
    filename: noble.qcow2
    url: https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img
  delegate_to: localhost

- name: Remove an old ISO image
  proxgate.core.proxmox_storage_content:
    node: pve1
    storage: local
    content: iso
    filename: debian-12.11.0-amd64-netinst.iso
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
volume:
  description:
    - The volume after the task, as the storage lists it; in check mode, or after O(state=absent), what is known
      without it (C(format), C(size) and C(ctime) null). Empty after O(state=absent).
  returned: always
  type: dict
  contains:
    volid:
      description: The volume id.
      type: str
      sample: local:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst
    storage:
      description: The storage.
      type: str
      sample: local
    node:
      description: The node.
      type: str
      sample: pve1
    content:
      description: The content type.
      type: str
      sample: vztmpl
    filename:
      description: The file name.
      type: str
      sample: debian-13-standard_13.1-2_amd64.tar.zst
    format:
      description: The format the storage lists (C(iso), C(tzst), C(tgz), C(tar), C(qcow2), C(ova)...).
      type: str
      sample: tzst
    size:
      description: Its size in bytes (for a disk image, its virtual size).
      type: int
      sample: 126735432
    ctime:
      description: When it was made, seconds since the epoch.
      type: int
      sample: 1767168000
tasks:
  description: The UPIDs of the tasks the module waited for (the download, upload or delete).
  returned: always
  type: list
  elements: str
"""

from ansible_collections.proxgate.core.plugins.module_utils.common.object_module import ObjectModule
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.access import find_entry
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.storage_content import (
    checksum_problem,
    content_types,
    filename_problem,
    source_filename,
    src_problem,
    storage_path,
    upload_file,
    url_problem,
    volume_id,
)


class ProxmoxStorageContent(ObjectModule, ProxmoxModule):
    argument_spec = dict(
        node=dict(type="str", required=True),
        storage=dict(type="str", required=True),
        content=dict(type="str", required=True, choices=["iso", "vztmpl", "import"]),
        filename=dict(type="str", aliases=["name"]),
        url=dict(type="str"),
        src=dict(type="path"),
        checksum=dict(type="str"),
        checksum_algorithm=dict(type="str", choices=["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]),
        verify_certificates=dict(type="bool", default=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        timeout=dict(type="int", default=600),
    )
    module_kwargs = dict(
        mutually_exclusive=[("url", "src")],
        required_together=[("checksum", "checksum_algorithm")],
        required_if=[("state", "absent", ("filename",))],
    )
    name_formats = {"node": "pve-node", "storage": "pve-storage-id"}
    object_key = "volume"

    def validate(self):
        p = self.params
        problems = self.timeout_problems(p)
        if p["url"] is not None:
            problems.append(url_problem(p["url"]))
        if p["src"] is not None and p["state"] == "present":
            problems.append(src_problem(p["src"]))
        if p["checksum"] is not None:
            problems.append(checksum_problem(p["checksum_algorithm"], p["checksum"]))
        self.filename = p["filename"] or source_filename(p["url"], p["src"])
        if not self.filename:
            problems.append("filename is required when neither url nor src gives it (a URL whose path ends in a "
                            "file name)")
        else:
            problems.append(filename_problem(p["content"], self.filename))
        problems = [problem for problem in problems if problem]
        if problems:
            self.fail("; ".join(problems))
        self.volid = volume_id(p["storage"], p["content"], self.filename)

    def extra_results(self):
        return {"tasks": self.tasks}

    def shown(self, listed=None):
        p, listed = self.params, listed or {}
        return {"volid": self.volid, "storage": p["storage"], "node": p["node"], "content": p["content"],
                "filename": self.filename, "format": listed.get("format"), "size": listed.get("size"),
                "ctime": listed.get("ctime")}

    def listed(self):
        p = self.params
        listing = self.client.get(storage_path(p["node"], p["storage"], "content"), content=p["content"]) or []
        return find_entry(listing, "volid", self.volid)

    def locate(self):
        p = self.params
        if p["state"] == "present":
            status = self.client.get(storage_path(p["node"], p["storage"], "status")) or {}
            contents = content_types(status)
            if p["content"] not in contents:
                self.fail(f"storage: {p['storage']!r} on node {p['node']!r} holds no {p['content']} content (its "
                          f"content types: {', '.join(contents) or 'none'}); enable it in the storage's content, or "
                          "choose another storage")
        return self.listed()

    def create(self, desired):
        p = self.params
        if not p["url"] and not p["src"]:
            self.fail(f"url or src is required: {self.volid} is not on the storage")
        checksum = {"checksum": p["checksum"].lower(), "checksum-algorithm": p["checksum_algorithm"]} \
            if p["checksum"] else {}
        if p["url"]:
            source = {"url": p["url"]}
            reply = self.write(self.client.post, storage_path(p["node"], p["storage"], "download-url"),
                               url=p["url"], content=p["content"], filename=self.filename,
                               **{"verify-certificates": p["verify_certificates"]}, **checksum)
        else:
            source = {"src": p["src"]}
            reply = self.write(upload_file, self.client, p["node"], p["storage"], p["content"], self.filename,
                               p["src"], p["checksum"], p["checksum_algorithm"])
        if self.check_mode:
            return self.shown(), dict(volid=self.volid, **source)
        self.wait(reply, task_expected=True)
        return self.shown(self.listed()), dict(volid=self.volid, **source)

    def update(self, existing, desired):
        shown = self.shown(existing)
        return shown, {"before": {"volid": self.volid}, "after": {"volid": self.volid}}

    def delete(self, existing):
        p = self.params
        reply = self.write(self.client.delete, storage_path(p["node"], p["storage"], "content", self.volid))
        if not self.check_mode:
            self.wait(reply)
        return {"volid": self.volid}


def main():
    ProxmoxStorageContent().execute()


if __name__ == "__main__":
    main()
