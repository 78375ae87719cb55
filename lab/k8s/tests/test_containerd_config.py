"""The containerd stand-in reads config.toml like containerd 2.x: version 3 with the sandbox image
pinned in the images plugin, and versions 1 and 2 migrated in memory, not refused (no lab needed)."""
import contextlib
import io
import os
import tempfile
import unittest

import _path  # noqa: F401
import runtime


class ContainerdConfigTests(unittest.TestCase):
    def load(self, text):
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write(text)
        try:
            with contextlib.redirect_stderr(io.StringIO()):
                return runtime.load_config(f.name)
        finally:
            os.unlink(f.name)

    def test_version_3_with_the_pinned_sandbox_image(self):
        # what Cairn writes (Sources/CairnPhases/Kubernetes/NodeFiles.swift)
        cfg, err = self.load("version = 3\n\n[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]\n"
                             "  runtime_type = 'io.containerd.runc.v2'\n\n"
                             "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]\n"
                             "  SystemdCgroup = true\n\n[plugins.'io.containerd.cri.v1.images'.pinned_images]\n"
                             "  sandbox = 'registry.k8s.io/pause:3.10.2'\n")
        self.assertIsNone(err)
        self.assertEqual((cfg["version"], cfg["systemdCgroup"], cfg["sandboxImage"]),
                         (3, True, "registry.k8s.io/pause:3.10.2"))

    def test_older_versions_are_migrated_not_refused(self):
        # containerd 2.x migrates versions 1 and 2 on every start (its RELEASES.md)
        cfg, err = self.load('version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n'
                             '  sandbox_image = "registry.k8s.io/pause:3.9"\n'
                             '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n'
                             '  SystemdCgroup = true\n')
        self.assertIsNone(err)
        self.assertEqual((cfg["version"], cfg["systemdCgroup"], cfg["sandboxImage"]),
                         (2, True, "registry.k8s.io/pause:3.9"))
        # a version 3 table in a version 2 file is not where containerd looks
        cfg, err = self.load("version = 2\n[plugins.'io.containerd.cri.v1.images'.pinned_images]\n"
                             "  sandbox = 'registry.k8s.io/pause:3.10.2'\n")
        self.assertEqual(cfg["sandboxImage"], runtime.DEFAULT_SANDBOX)
        cfg, err = self.load("[plugins.cri]\n  sandbox_image = 'registry.k8s.io/pause:3.2'\n")
        self.assertEqual((cfg["version"], cfg["sandboxImage"]), (1, "registry.k8s.io/pause:3.2"))


if __name__ == "__main__":
    unittest.main()
