# SPDX-License-Identifier: ISC
"""The manual pages keep up with the code; no daemon is started.

* Every word of the configuration lexer's table (lib/config.c, keywords[]),
  which must be the keywords of the grammar (lib/parse.y), is documented
  in empath.conf(5) as a keyword: an argument of an Ic macro; and every
  Ic there is a keyword.
* Every empathctl command (the "group command" names of empathctl's
  command tables, empathctl/*.c) is an Cm of empathctl(8), and every long
  option of empathctl (struct option tables) an Fl there.
* `mandoc -Tlint -W warning` says nothing about any page of man/.
* Every page a SEE ALSO names is in man/ or a well-known system page, and
  every empath page any page names exists; empath(7) names every page and
  every page names empath(7).
* Every program `make install` installs has a page in man/.

The sources are read as text, so a keyword, a command or a program added
without its documentation fails here, naming it."""

import glob
import os
import re
import shutil
import subprocess
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAN = os.path.join(REPO, "man")

# Pages of other packages a SEE ALSO may name.
SYSTEM_PAGES = {
    "sendmail(8)", "syslog(3)", "systemd.unit(5)", "systemd.service(5)",
    "systemctl(1)", "journalctl(1)", "mailq(1)", "newaliases(1)",
    "seccomp(2)", "unix(7)", "resolv.conf(5)", "ldns(3)", "dlopen(3)",
    "ps(1)", "chown(1)", "useradd(8)", "pkg-config(1)", "mmap(2)",
}
# Empath pages a SEE ALSO may name before they exist: none today.
PENDING_PAGES = set()

# mdoc macros that may follow an Ic on its line and end its arguments.
MACRO = re.compile(r"^(%[A-Z]|[A-Z][a-z]{1,2}|Ux|Bx|Dx|Fx|Nx|Ox|At|St)$")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def mdoc_tokens(line):
    """The words of an mdoc macro line, quoted arguments kept whole."""
    return [a if a is not None and a != "" else b
            for a, b in re.findall(r'"((?:[^"]|"")*)"|(\S+)', line)]


def macro_args(text, macro):
    """Every argument of every `macro` call (callable macros too: `.It Ic
    x`, `.Op Ic y`), each split into words."""
    words = set()
    for line in text.splitlines():
        if not line.startswith("."):
            continue
        toks = mdoc_tokens(line[1:])
        i = 0
        while i < len(toks):
            if toks[i] == macro:
                i += 1
                while i < len(toks) and not MACRO.match(toks[i]):
                    for w in toks[i].split():
                        words.add(w.strip(".,;:()[]|"))
                    i += 1
            else:
                i += 1
    words.discard("")
    return words


def xrefs(text, only_see_also=False):
    """(name, section) of every Xr, optionally only in SEE ALSO."""
    refs = []
    section = None
    for line in text.splitlines():
        if line.startswith(".Sh "):
            section = line[4:].strip().strip('"')
        if only_see_also and section != "SEE ALSO":
            continue
        for m in re.finditer(r"\bXr\s+(\S+)\s+(\d[a-z]*)", line):
            if line.startswith("."):
                refs.append((m.group(1), m.group(2)))
    return refs


def config_keywords():
    src = read(os.path.join(REPO, "lib", "config.c"))
    m = re.search(r"\}\s*keywords\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    assert m, "keywords[] not found in lib/config.c"
    words = re.findall(r'\{\s*"([^"]+)"\s*,\s*T_[A-Z0-9_]+\s*\}', m.group(1))
    assert len(words) == len(re.findall(r"T_[A-Z0-9_]+", m.group(1))), \
        "a keywords[] entry this test cannot read"
    return words


def grammar_keywords():
    """The words of lib/parse.y's %token aliases (%token NAME "word"),
    without the value tokens STRING and NUMBER."""
    words = []
    for line in read(os.path.join(REPO, "lib", "parse.y")).splitlines():
        if line.startswith("%token") and "<" not in line.split()[1]:
            words += re.findall(r'\b[A-Z][A-Z0-9_]*\s+"([^"]+)"', line)
    return words


def empathctl_sources():
    return {p: read(p) for p in glob.glob(os.path.join(REPO, "empathctl", "*.c"))}


def empathctl_commands():
    """The names of the subcmd tables: { "queue list", "ARGS", opts }."""
    cmds = set()
    for src in empathctl_sources().values():
        cmds.update(re.findall(
            r'\{\s*"([a-z]+ [a-z][a-z-]*)"\s*,\s*(?:"[^"]*"\s*)+,', src))
    return cmds


def empathctl_long_options():
    opts = set()
    for src in empathctl_sources().values():
        opts.update(re.findall(
            r'\{\s*"([a-z][a-z-]*)"\s*,\s*(?:no|required|optional)_argument', src))
    return opts


def makefile_programs():
    """Programs of the install rules: $(BUILD)/empath... and $(DAEMONS)."""
    mk = read(os.path.join(REPO, "Makefile")).replace("\\\n", " ")
    daemons = re.search(r"^DAEMONS\s*:?=\s*(.*)$", mk, re.M).group(1).split()
    progs = set()
    recipe = False
    for line in mk.splitlines():
        if re.match(r"^install[a-z-]*\s*:", line):
            recipe = True
            continue
        if not line.startswith("\t"):
            recipe = False
            continue
        if not recipe:
            continue
        for name in re.findall(r"\$\(BUILD\)/(empath[A-Za-z0-9_-]*)(?=[\s/]|$)", line):
            progs.add(name)
        for pre in re.findall(r"\$\(DAEMONS:%=\$\(BUILD\)/([A-Za-z0-9_-]*)%\)", line):
            progs.update(pre + d for d in daemons)
    return progs


def pages():
    return sorted(p for p in glob.glob(os.path.join(MAN, "*.[1-9]")))


def page_names():
    return {f"{os.path.basename(p).rsplit('.', 1)[0]}({p.rsplit('.', 1)[1]})"
            for p in pages()}


class ConfigKeywords(unittest.TestCase):

    def test_every_keyword_is_documented(self):
        words = config_keywords()
        self.assertIn("local-submission", words)   # the table was read
        self.assertGreater(len(words), 80)
        page = read(os.path.join(MAN, "empath.conf.5"))
        documented = macro_args(page, "Ic")
        missing = [w for w in words if w not in documented]
        self.assertEqual(missing, [], "keywords of lib/config.c without an "
                         "Ic in man/empath.conf.5")

    def test_lexer_and_grammar_agree(self):
        # A keyword of the grammar missing from the lexer's table could
        # never be written, and one of the table unknown to the grammar is
        # a leftover: both would make the page lie.
        self.assertEqual(sorted(set(grammar_keywords()) ^ set(config_keywords())),
                         [])

    def test_no_ic_names_an_unknown_keyword(self):
        # The other way round: an Ic in a description of settings names a
        # word the lexer knows (catches a typo such as "max-attempt").
        words = set(config_keywords())
        page = read(os.path.join(MAN, "empath.conf.5"))
        # Commands of other programs written with Ic in the page.
        elsewhere = {"empath-master", "empathctl", "plugin", "list"}
        unknown = sorted(w for w in macro_args(page, "Ic")
                         if w not in words and w not in elsewhere)
        self.assertEqual(unknown, [], "Ic words of man/empath.conf.5 that "
                         "are not keywords of lib/config.c")


class EmpathctlCommands(unittest.TestCase):

    def test_every_command_is_documented(self):
        cmds = empathctl_commands()
        for c in ("system ping", "system status", "queue list", "dns refresh",
                  "plugin list"):
            self.assertIn(c, cmds)                 # the tables were read
        page = read(os.path.join(MAN, "empathctl.8"))
        # ".It Cm queue list ..." or ".Cm queue freeze | unfreeze": the
        # group's word, then the command among the words of that Cm.
        missing = []
        for c in sorted(cmds):
            group, name = c.split(" ", 1)
            ok = False
            for line in page.splitlines():
                if not line.startswith("."):
                    continue
                toks = mdoc_tokens(line[1:])
                if "Cm" not in toks:
                    continue
                args = toks[toks.index("Cm") + 1:]
                if group in args and name in args[args.index(group) + 1:]:
                    ok = True
                    break
            if not ok:
                missing.append(c)
        self.assertEqual(missing, [], "empathctl commands without a Cm in "
                         "man/empathctl.8")

    def test_every_long_option_is_documented(self):
        opts = empathctl_long_options()
        self.assertTrue({"json", "socket", "token", "status", "watch"} <= opts)
        page = read(os.path.join(MAN, "empathctl.8"))
        flags = macro_args(page, "Fl")
        missing = sorted(o for o in opts if "-" + o not in flags)
        self.assertEqual(missing, [], "empathctl options without an Fl in "
                         "man/empathctl.8")


class Pages(unittest.TestCase):

    def test_lint_clean(self):
        if shutil.which("mandoc") is None:
            self.skipTest("mandoc is not installed (scripts/deps.sh installs it)")
        self.assertTrue(pages())
        for p in pages():
            with self.subTest(page=os.path.basename(p)):
                r = subprocess.run(["mandoc", "-Tlint", "-W", "warning", p],
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual(r.stdout + r.stderr, "")
                self.assertEqual(r.returncode, 0)

    def test_see_also_names_existing_pages(self):
        have = page_names()
        for p in pages():
            text = read(p)
            with self.subTest(page=os.path.basename(p)):
                see = [f"{n}({s})" for n, s in xrefs(text, only_see_also=True)]
                self.assertTrue(see, "no SEE ALSO")
                if os.path.basename(p) != "empath.7":
                    self.assertIn("empath(7)", see)
                unknown = [r for r in see
                           if r not in have and r not in SYSTEM_PAGES
                           and r not in PENDING_PAGES]
                self.assertEqual(unknown, [])
                # Anywhere in the page, a page of Empath must exist.
                ours = [f"{n}({s})" for n, s in xrefs(text)
                        if n.startswith("empath")]
                self.assertEqual([r for r in ours if r not in have
                                  and r not in PENDING_PAGES], [])

    def test_overview_names_every_page(self):
        self.assertTrue(os.path.exists(os.path.join(MAN, "empath.7")))
        see = {f"{n}({s})" for n, s in
               xrefs(read(os.path.join(MAN, "empath.7")), only_see_also=True)}
        self.assertEqual(sorted(page_names() - {"empath(7)"} - see), [])

    def test_every_installed_program_has_a_page(self):
        progs = makefile_programs()
        for p in ("empath-master", "empathctl", "empath-smtpd",
                  "empath-queued", "empath-deliverd", "empath-ctld"):
            self.assertIn(p, progs)                # the Makefile was read
        have = page_names()
        missing = sorted(p for p in progs if f"{p}(8)" not in have)
        self.assertEqual(missing, [], "installed programs without a page")

    def test_every_page_is_installed(self):
        # make install copies man/*.N by section: each section of man/
        # must have its loop.
        mk = read(os.path.join(REPO, "Makefile"))
        for sec in sorted({p.rsplit(".", 1)[1] for p in pages()}):
            with self.subTest(section=sec):
                self.assertTrue(re.search(
                    rf"man/\*\.{sec};.*\$\(MANDIR\)/man{sec}/", mk),
                    f"the install rule of the Makefile has no loop for man/*.{sec}")


if __name__ == "__main__":
    unittest.main()
