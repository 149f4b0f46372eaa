# SPDX-License-Identifier: ISC
"""`make install DESTDIR=...` puts the build under test where the install
layout of the README says: empath-master and empathctl in SBINDIR, the
four daemons in LIBEXECDIR, every man/*.5 and man/*.8 page in its section,
the example configuration beside (never over) empath.conf; binaries mode
755, the rest 644; nothing else (no headers, no plugin directory); the
installed pages pass `mandoc -Tlint` without a warning. make is told not
to rebuild (-o all): it only copies the binaries of $EMPATH_BUILD."""

import filecmp
import glob
import os
import shutil
import stat
import subprocess
import tempfile
import unittest

from harness import BUILD, REPO

SBIN = ["empath-master", "empathctl"]
LIBEXEC = ["empath-smtpd", "empath-queued", "empath-deliverd", "empath-ctld"]


class InstallTests(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if shutil.which("make") is None:
            raise unittest.SkipTest("make is not installed")
        cls.dest = tempfile.mkdtemp(prefix="empath-install.")
        cls.run_make = subprocess.run(
            ["make", "-o", "all", "install", f"DESTDIR={cls.dest}",
             f"BUILD={BUILD}", "PREFIX=/usr", "SYSCONFDIR=/etc/empath"],
            cwd=REPO, capture_output=True, text=True, timeout=120)

    @classmethod
    def tearDownClass(cls):
        if not os.environ.get("EMPATH_E2E_KEEP"):
            shutil.rmtree(cls.dest, ignore_errors=True)

    def setUp(self):
        self.assertEqual(self.run_make.returncode, 0,
                         self.run_make.stdout + self.run_make.stderr)

    def expected(self):
        """Installed path (relative to DESTDIR) -> (source file, mode)."""
        files = {}
        for name in SBIN:
            files[f"usr/sbin/{name}"] = (os.path.join(BUILD, name), 0o755)
        for name in LIBEXEC:
            files[f"usr/libexec/empath/{name}"] = (os.path.join(BUILD, name), 0o755)
        for sec in ("5", "8"):
            for page in glob.glob(os.path.join(REPO, "man", f"*.{sec}")):
                files[f"usr/share/man/man{sec}/{os.path.basename(page)}"] = (page, 0o644)
        files["etc/empath/empath.conf.example"] = (
            os.path.join(REPO, "etc", "empath.conf"), 0o644)
        return files

    def installed(self):
        found = set()
        for root, _dirs, names in os.walk(self.dest):
            for n in names:
                found.add(os.path.relpath(os.path.join(root, n), self.dest))
        return found

    def test_file_list(self):
        want = self.expected()
        # Both sections exist in the tree: an empty glob would prove nothing.
        self.assertTrue(any("/man5/" in p for p in want))
        self.assertTrue(any("/man8/" in p for p in want))
        self.assertEqual(self.installed(), set(want))
        self.assertFalse(os.path.exists(os.path.join(self.dest, "usr/include")))
        self.assertFalse(os.path.exists(os.path.join(self.dest, "usr/lib")))
        self.assertFalse(os.path.exists(
            os.path.join(self.dest, "etc/empath/empath.conf")))

    def test_modes_and_contents(self):
        for rel, (src, mode) in self.expected().items():
            path = os.path.join(self.dest, rel)
            with self.subTest(path=rel):
                st = os.stat(path)
                self.assertTrue(stat.S_ISREG(st.st_mode))
                self.assertEqual(stat.S_IMODE(st.st_mode), mode)
                # The very files of this build and tree, not a rebuild.
                self.assertTrue(filecmp.cmp(src, path, shallow=False))

    def test_installed_pages_lint_clean(self):
        if shutil.which("mandoc") is None:
            self.skipTest("mandoc is not installed")
        pages = sorted(os.path.join(self.dest, p) for p in self.installed()
                       if "/share/man/man" in p)
        self.assertTrue(pages)
        r = subprocess.run(["mandoc", "-Tlint", "-Wwarning"] + pages,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))


if __name__ == "__main__":
    unittest.main()
