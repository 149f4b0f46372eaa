# SPDX-License-Identifier: ISC
"""`make install DESTDIR=...` puts the build under test where the install
layout of the README says: empath-master, empathctl and empath-sendmail
in SBINDIR, the four daemons in LIBEXECDIR, every man/*.3, man/*.5, man/*.7
and man/*.8 page in its section, the plugin header <empath/empath.h> and empath.pc, the example plugins
of plugins/ in the plugin directory, the example configuration beside (never over)
empath.conf; binaries mode 755, the rest 644; nothing else; the
installed pages pass `mandoc -Tlint` without a warning. A plugin builds
against that install alone (pkg-config with the DESTDIR as sysroot), and
the installed `empath-master -n` loads it, or reports the line of a
plugin it cannot load. make is told not to rebuild (-o all): it only
copies the binaries of $EMPATH_BUILD."""

import filecmp
import glob
import os
import shutil
import stat
import subprocess
import tempfile
import unittest

from harness import BUILD, REPO

SBIN = ["empath-master", "empathctl", "empath-sendmail"]
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
        for sec in ("3", "5", "7", "8"):
            for page in glob.glob(os.path.join(REPO, "man", f"*.{sec}")):
                files[f"usr/share/man/man{sec}/{os.path.basename(page)}"] = (page, 0o644)
        files["usr/include/empath/empath.h"] = (
            os.path.join(REPO, "include", "empath", "empath.h"), 0o644)
        files["usr/lib/pkgconfig/empath.pc"] = (
            os.path.join(BUILD, "empath.pc"), 0o644)
        for src in glob.glob(os.path.join(REPO, "plugins", "*", "")):
            name = os.path.basename(os.path.dirname(src)) + ".so"
            files[f"usr/lib/empath/plugins/{name}"] = (
                os.path.join(BUILD, "plugins", name), 0o644)
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
        self.assertTrue(any("/man3/" in p for p in want))
        self.assertTrue(any("/man5/" in p for p in want))
        self.assertTrue(any("/man7/" in p for p in want))
        self.assertTrue(any("/man8/" in p for p in want))
        self.assertEqual(self.installed(), set(want))
        plugins = os.path.join(self.dest, "usr/lib/empath/plugins")
        self.assertTrue(os.path.isdir(plugins))
        self.assertEqual(sorted(os.listdir(plugins)),
                         ["correlation-id.so", "event-log.so", "reject-list.so"])
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

    def build_plugin(self, workdir):
        """x.so from a plugin source, with the flags of the installed
        empath.pc; returns its directory."""
        if shutil.which("pkg-config") is None or shutil.which("cc") is None:
            self.skipTest("pkg-config or cc is not installed")
        env = dict(os.environ,
                   PKG_CONFIG_LIBDIR=os.path.join(self.dest, "usr/lib/pkgconfig"),
                   PKG_CONFIG_PATH="",
                   PKG_CONFIG_SYSROOT_DIR=self.dest)
        # What a plugin author types: --libs is empty (the em_context_*
        # functions come from the daemon that loads the plugin).
        r = subprocess.run(["pkg-config", "--cflags", "--libs", "empath"], env=env,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        cflags = r.stdout.split()
        # The installed header, not the tree's.
        self.assertEqual(cflags, ["-I" + os.path.join(self.dest, "usr/include")])
        src = os.path.join(workdir, "x.c")
        with open(src, "w") as f:
            f.write(PLUGIN_SOURCE)
        so = os.path.join(workdir, "x.so")
        r = subprocess.run(["cc", *cflags, "-std=c99", "-Wall", "-Wextra",
                            "-Werror", "-shared", "-fPIC", "-o", so, src],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        os.chmod(so, 0o755)
        return workdir

    def master_n(self, workdir, plugins):
        conf = os.path.join(workdir, "empath.conf")
        users = ('user "nobody"\nqueue-user "daemon"\n'
                 if os.geteuid() == 0 else "")
        with open(conf, "w") as f:
            f.write(f'spool "{workdir}/spool"\n'
                    f'control {{ socket "{workdir}/control.sock" }}\n'
                    f'{users}plugin-dir "{workdir}"\n{plugins}')
        r = subprocess.run([os.path.join(self.dest, "usr/sbin/empath-master"),
                            "-n", "-f", conf], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
        return conf, r

    def test_plugin_builds_against_the_install_and_loads(self):
        workdir = tempfile.mkdtemp(prefix="empath-plugin.")
        self.addCleanup(shutil.rmtree, workdir, ignore_errors=True)
        self.build_plugin(workdir)
        trace = os.path.join(workdir, "trace")
        conf, r = self.master_n(workdir, f'plugin "x" {{ args "{trace}" "b" }}\n')
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # init ran with argv[0] the name and the args, then fini.
        with open(trace) as f:
            self.assertEqual(f.read(), f"init 3 x {trace} b\nfini\n")

        conf, r = self.master_n(workdir, 'plugin "x" { args "/nonexistent/t" }\n'
                                         '\nplugin "absent"\n')
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        with open(conf) as f:
            lines = [i for i, l in enumerate(f, 1) if l.startswith("plugin ")]
        self.assertEqual(len(lines), 2)
        self.assertIn(f'{conf}:{lines[0]}: plugin "x": init failed', r.stderr)
        self.assertIn(f'{conf}:{lines[1]}: plugin "absent": {workdir}/absent.so: '
                      "No such file or directory", r.stderr)


# A third party's plugin: records init and fini in the file of its first
# argument (init fails when it cannot), and calls an accessor.
PLUGIN_SOURCE = r"""
#include <stdio.h>
#include <empath/empath.h>

static char path[512];

static int
x_init(int argc, char **argv)
{
	FILE *f;
	int i;

	if (argc < 2 || (f = fopen(argv[1], "w")) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s", argv[1]);
	fprintf(f, "init %d", argc);
	for (i = 0; i < argc; i++)
		fprintf(f, " %s", argv[i]);
	fputc('\n', f);
	return fclose(f) == 0 ? 0 : -1;
}

static void
x_fini(void)
{
	FILE *f = fopen(path, "a");

	if (f != NULL) {
		fputs("fini\n", f);
		fclose(f);
	}
}

static int
x_rcpt(em_context *ctx)
{
	size_t n;

	em_context_get_recipients(ctx, &n);
	return n > 1 ? EM_REJECT : EM_ACCEPT;
}

EMPATH_PLUGIN(.name = "x", .version = "1", .init = x_init, .fini = x_fini,
    .validate_rcpt = x_rcpt);
"""


if __name__ == "__main__":
    unittest.main()
