# SPDX-License-Identifier: ISC
# Empath: one build for everything; objects go to $(BUILD)/.
# `make` builds, `make check` installs test dependencies, builds and runs
# every test, `make SANITIZE=1 check` does the same under ASan + UBSan.

CC      ?= gcc
BISON   ?= bison
PREFIX  ?= /usr
SBINDIR ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/libexec/empath
PLUGINDIR ?= $(PREFIX)/lib/empath/plugins
SYSCONFDIR ?= /etc/empath
MANDIR  ?= $(PREFIX)/share/man
INCLUDEDIR ?= $(PREFIX)/include
LIBDIR  ?= $(PREFIX)/lib
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR ?=

ifeq ($(SANITIZE),1)
BUILD   ?= build-san
OPT      = -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
# The sanitizer runtimes need a wider system call filter (lib/sandbox.c).
OPT     += -DEMPATH_SANITIZE
SANLD    = -fsanitize=address,undefined
else
BUILD   ?= build
OPT      = -O2
SANLD    =
endif

PKGS     = libbsd-overlay openssl sqlite3 libseccomp libidn2
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lldns
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null)

CFLAGS  ?=
CFLAGS  += -std=gnu11 -D_GNU_SOURCE -g $(OPT) -Wall -Wextra -Werror -Wformat=2 -Wformat-security \
           -Wmissing-prototypes -Wstrict-prototypes -Wpointer-arith -Wvla \
           -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE \
           -Iinclude -Ilib -I$(BUILD)/lib $(PKG_CFLAGS) \
           -DLIBEXECDIR='"$(LIBEXECDIR)"' -DPLUGINDIR='"$(PLUGINDIR)"' \
           -DSYSCONFDIR='"$(SYSCONFDIR)"' -MMD -MP
LDFLAGS ?=
LDFLAGS += -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(SANLD)

LIB_SRCS := $(wildcard lib/*.c)
OBJ      := $(BUILD)/obj
LIB_OBJS := $(LIB_SRCS:%.c=$(OBJ)/%.o) $(OBJ)/lib/parse.o
LIBA     := $(BUILD)/libempath.a

DAEMONS  := smtpd queued deliverd ctld
PROGS    := $(BUILD)/empath-master $(BUILD)/empathctl $(DAEMONS:%=$(BUILD)/empath-%)
PROGS    += $(BUILD)/empath-sendmail

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

all: $(PROGS)

$(BUILD)/lib/parse.c: lib/parse.y
	@mkdir -p $(dir $@)
	$(BISON) -Wall -Werror -o $@ --defines=$(BUILD)/lib/parse.h $<

$(OBJ)/lib/parse.o: $(BUILD)/lib/parse.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# Objects that include the bison header must wait for it.
$(LIB_SRCS:%.c=$(OBJ)/%.o): | $(BUILD)/lib/parse.c

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIBA): $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

define prog_rule
$(BUILD)/$(1): $(patsubst %.c,$(OBJ)/%.o,$(wildcard $(2)/*.c)) $(LIBA)
	$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(LIBA) $$(PKG_LIBS)
endef
$(eval $(call prog_rule,empath-master,master))
$(eval $(call prog_rule,empathctl,empathctl))
$(foreach d,$(DAEMONS),$(eval $(call prog_rule,empath-$(d),$(d))))
# empath-sendmail runs empathctl from SBINDIR (-bp, -q).
$(eval $(call prog_rule,empath-sendmail,sendmail))
$(OBJ)/sendmail/%.o: CFLAGS += -DSBINDIR='"$(SBINDIR)"'

# Plugins (<empath/empath.h>) call em_context_* in the program that loads
# them: those programs export these functions and nothing else
# (lib/plugin.dynlist), and link plugin_ctx.o whether or not they call it.
PLUGIN_HOSTS := empath-master empath-smtpd empath-queued empath-deliverd
PLUGIN_LD     = -Wl,--dynamic-list=lib/plugin.dynlist
$(PLUGIN_HOSTS:%=$(BUILD)/%): LDFLAGS += $(PLUGIN_LD)
$(PLUGIN_HOSTS:%=$(BUILD)/%): $(OBJ)/lib/plugin_ctx.o lib/plugin.dynlist

# Plugins of the unit tests: built like a third party's, against the
# public header alone, as strict C99.
TEST_PLUGINS := $(patsubst tests/plugins/%.c,$(BUILD)/tests/plugins/%.so,$(wildcard tests/plugins/*.c))
$(BUILD)/tests/plugins/%.so: tests/plugins/%.c tests/plugins/trace.h include/empath/empath.h
	@mkdir -p $(dir $@)
	$(CC) -std=c99 -pedantic -Wall -Wextra -Werror -Wno-unused-parameter \
	    -fPIC -shared -Iinclude $(OPT) $(SANLD) -o $@ $<
	chmod 755 $@

# empath.pc for plugin authors; regenerated each time (it depends on the
# install directories given to make).
$(BUILD)/empath.pc: FORCE
	@mkdir -p $(dir $@)
	@printf '%s\n' 'prefix=$(PREFIX)' \
	    'includedir=$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))' \
	    'plugindir=$(patsubst $(PREFIX)/%,$${prefix}/%,$(PLUGINDIR))' '' \
	    'Name: empath' \
	    'Description: plugin API of the Empath mail transfer agent' \
	    'Version: $(shell sed -n 's/^#define EMPATH_VERSION "\(.*\)"/\1/p' lib/util.h)' \
	    'Cflags: -I$${includedir}' > $@
pc: $(BUILD)/empath.pc

# Unit tests: tests/unit/test_X.c lists its suites (TEST_SUITES, see
# tests/unit/fixture.h) and is linked with the shared main and helpers
# (check_main.c) and with the archive of a daemon's modules (all but its
# main.c) that its name prefix names; the linker pulls only the members
# the test needs. Two daemons may define one name: a test links only its
# own daemon's archive.
UNIT_OBJ     := $(OBJ)/tests/unit
UNIT_DAEMONS := smtpd queued deliverd ctld master empathctl sendmail
unit_lib      = $(BUILD)/lib$(1).a
define unit_lib_rule
$(call unit_lib,$(1)): $(patsubst %.c,$(OBJ)/%.o,$(filter-out $(1)/main.c,$(wildcard $(1)/*.c)))
	rm -f $$@
	ar rcs $$@ $$^
endef
$(foreach d,$(UNIT_DAEMONS),$(eval $(call unit_lib_rule,$(d))))

# The archive of test_X by its name: test_smtpd* smtpd, test_deliverd_*
# deliverd, test_store* and test_queued_* queued, test_ctld_* ctld,
# test_empathctl_* empathctl, test_safedir and test_master_* master.
unit_archive = $(strip \
    $(if $(filter test_smtpd%,$(1)),$(call unit_lib,smtpd)) \
    $(if $(filter test_deliverd_%,$(1)),$(call unit_lib,deliverd)) \
    $(if $(filter test_store% test_queued_%,$(1)),$(call unit_lib,queued)) \
    $(if $(filter test_ctld_%,$(1)),$(call unit_lib,ctld)) \
    $(if $(filter test_empathctl_%,$(1)),$(call unit_lib,empathctl)) \
    $(if $(filter test_sendmail_%,$(1)),$(call unit_lib,sendmail)) \
    $(if $(filter test_safedir test_master_%,$(1)),$(call unit_lib,master)))
# The smtpd tests share a fake client and queue (smtpd_fixture.c); the
# mime7 test its driver with the fuzzer (mime7_driver.c).

$(UNIT_OBJ)/%.o: CFLAGS += $(CHECK_CFLAGS)
$(UNIT_OBJ)/test_sendmail_%.o: CFLAGS += -Isendmail
# (Named here, the objects are not intermediate files make would delete.)
$(foreach t,$(UNIT_BINS),$(eval $(t): $(UNIT_OBJ)/$(notdir $(t)).o \
    $(UNIT_OBJ)/check_main.o $(call unit_archive,$(notdir $(t))) \
    $(if $(filter test_smtpd%,$(notdir $(t))),$(UNIT_OBJ)/smtpd_fixture.o) \
    $(if $(filter test_deliverd_mime7,$(notdir $(t))),$(UNIT_OBJ)/mime7_driver.o)))
$(BUILD)/tests/%: $(UNIT_OBJ)/%.o $(UNIT_OBJ)/check_main.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(CHECK_CFLAGS) -o $@ $(filter %.o,$^) \
	    $(filter-out $(LIBA),$(filter %.a,$^)) $(LIBA) $(PKG_LIBS) $(CHECK_LIBS)
# The engine tests run a daemon in the test process (engine_fixture.h).
$(foreach t,$(UNIT_BINS),$(foreach d,queued deliverd, \
    $(if $(filter test_$(d)_engine%,$(notdir $(t))),$(eval $(t): \
    $(UNIT_OBJ)/$(d)_engine.o $(UNIT_OBJ)/engine_fixture.o))))
$(BUILD)/tests/test_queued_drop: $(UNIT_OBJ)/queued_engine.o $(UNIT_OBJ)/engine_fixture.o

# Tests with "plugin" in their name load test plugins (tests/plugins/):
# like a daemon, they export the em_context_* functions to them.
PLUGIN_TESTS := $(foreach t,$(UNIT_BINS),$(if $(findstring plugin,$(notdir $(t))),$(t)))
$(PLUGIN_TESTS): LDFLAGS += $(PLUGIN_LD)
$(PLUGIN_TESTS): $(OBJ)/lib/plugin_ctx.o $(TEST_PLUGINS)
$(PLUGIN_TESTS:$(BUILD)/tests/%=$(UNIT_OBJ)/%.o): CFLAGS += \
    -DTEST_PLUGIN_DIR='"$(abspath $(BUILD))/tests/plugins"'

unit: $(UNIT_BINS)

deps:
	@sh scripts/deps.sh

check: deps
	$(MAKE) all unit
	@sh tests/run.sh $(BUILD)

bench: all
	@sh tests/bench/run.sh $(BUILD)

# libFuzzer harnesses (clang) for every parser of bytes that cross a trust
# boundary (fuzz/, listed in the README); not part of `make check`. Each runs FUZZ_SECONDS
# (default 600) on a corpus kept in $(BUILD)/fuzz, seeded from fuzz/corpus
# (absolute paths: fuzz_queued works in its temporary spool).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 600
FUZZ_CFLAGS   = -std=gnu11 -D_GNU_SOURCE -g -O1 -Iinclude -Ilib -Ismtpd \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZERS      := fuzz_smtp_parse fuzz_decode
FUZZERS      += fuzz_health
$(BUILD)/fuzz/fuzz_health: FUZZ_CFLAGS += -Ictld
$(BUILD)/fuzz/fuzz_health: fuzz/fuzz_health.c ctld/health_request.c
$(BUILD)/fuzz/fuzz_smtp_parse: fuzz/fuzz_smtp_parse.c lib/smtp.c lib/smtp_dsn.c lib/idn.c lib/utf8.c
$(BUILD)/fuzz/fuzz_smtp_parse: FUZZ_LIBS = -lidn2
$(BUILD)/fuzz/fuzz_decode: fuzz/fuzz_decode.c smtpd/decode.c
$(FUZZERS:%=$(BUILD)/fuzz/%):
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^) $(FUZZ_LIBS)

# Harnesses for the bytes that cross a trust boundary between the daemons
# (channel frames and each daemon's message handlers, envelopes, the
# configuration snapshot) and from the network to deliverd (SMTP replies,
# DNS answers). They link the real library and daemon sources, compiled
# again with the fuzzer's instrumentation under $(BUILD)/fuzz/obj.
FUZZ_OBJ     := $(BUILD)/fuzz/obj
FUZZ_XCFLAGS  = $(FUZZ_CFLAGS) -I$(BUILD)/lib $(PKG_CFLAGS) -Ideliverd \
                -Iqueued -Ictld -Iempathctl -Ifuzz -DLIBEXECDIR='"$(LIBEXECDIR)"' \
                -DPLUGINDIR='"$(PLUGINDIR)"' -DSYSCONFDIR='"$(SYSCONFDIR)"'
FUZZ_LIBOBJS := $(LIB_SRCS:%.c=$(FUZZ_OBJ)/%.o) $(FUZZ_OBJ)/parse.o
FUZZ_LINKED  := fuzz_envelope fuzz_channel fuzz_reply fuzz_dns fuzz_config \
                fuzz_empathctl
FUZZERS      += $(FUZZ_LINKED)
$(BUILD)/fuzz/fuzz_reply: $(FUZZ_OBJ)/deliverd/reply.o
$(BUILD)/fuzz/fuzz_dns: $(FUZZ_OBJ)/deliverd/dns.o $(FUZZ_OBJ)/deliverd/dns_cache.o
# FUZZERS took FUZZ_LINKED's value above (:= is expanded at once):
# each later one is added to both.
FUZZ_LINKED  += fuzz_mime7 fuzz_wire fuzz_dropfile fuzz_sendmail_addr
FUZZERS      += fuzz_mime7 fuzz_wire fuzz_dropfile fuzz_sendmail_addr
$(BUILD)/fuzz/fuzz_sendmail_addr: $(FUZZ_OBJ)/sendmail/addrlist.o $(FUZZ_OBJ)/sendmail/message.o
$(FUZZ_OBJ)/fuzz/fuzz_sendmail_addr.o: FUZZ_XCFLAGS += -Isendmail
# The driver is shared with the unit test (tests/unit/mime7_driver.c).
$(BUILD)/fuzz/fuzz_mime7: $(FUZZ_OBJ)/deliverd/mime7.o $(FUZZ_OBJ)/deliverd/mime7_qp.o \
    $(FUZZ_OBJ)/deliverd/body.o $(FUZZ_OBJ)/tests/unit/mime7_driver.o
# empathctl/cmd_dns.c is included by the harness (its renderers are static).
$(BUILD)/fuzz/fuzz_empathctl: $(patsubst %.c,$(FUZZ_OBJ)/%.o,$(filter-out \
    empathctl/main.c empathctl/cmd_dns.c,$(wildcard empathctl/*.c)))
$(FUZZ_OBJ)/fuzz/fuzz_empathctl.o: empathctl/cmd_dns.c
$(FUZZ_OBJ)/parse.o: $(BUILD)/lib/parse.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_XCFLAGS) -c -o $@ $<
$(FUZZ_OBJ)/fuzz/%.o: fuzz/%.c $(wildcard fuzz/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_XCFLAGS) -Wall -Wextra -Werror -c -o $@ $<
$(FUZZ_OBJ)/%.o: %.c | $(BUILD)/lib/parse.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_XCFLAGS) -c -o $@ $<
$(FUZZ_LINKED:%=$(BUILD)/fuzz/%): $(BUILD)/fuzz/%: $(FUZZ_OBJ)/fuzz/%.o $(FUZZ_LIBOBJS)
	$(FUZZ_CC) $(FUZZ_XCFLAGS) -o $@ $(filter %.o,$^) $(PKG_LIBS)
# Per-daemon message harnesses: fuzz_<d>.c includes lib/daemon.c and
# <d>/main.c (see fuzz/fuzz_daemon.h) and links the daemon's other modules.
FUZZ_DAEMONS := fuzz_deliverd fuzz_smtpd fuzz_ctld
FUZZERS      += $(FUZZ_DAEMONS)
fuzz_modules  = $(patsubst %.c,$(FUZZ_OBJ)/%.o,$(filter-out $(1)/main.c,$(wildcard $(1)/*.c)))
$(BUILD)/fuzz/fuzz_deliverd: $(call fuzz_modules,deliverd)
$(BUILD)/fuzz/fuzz_smtpd: $(filter-out %/queue_client.o,$(call fuzz_modules,smtpd))
$(FUZZ_OBJ)/fuzz/fuzz_smtpd.o: smtpd/queue_client.c
$(BUILD)/fuzz/fuzz_ctld: $(filter-out %/control.o %/peers.o,$(call fuzz_modules,ctld))
$(FUZZ_OBJ)/fuzz/fuzz_ctld.o: ctld/control.c ctld/peers.c
# queued/main.c has statics named like lib/daemon.c's: that harness
# includes main.c and scheduler.c only, and links lib/daemon.c.
FUZZERS      += fuzz_queued
$(BUILD)/fuzz/fuzz_queued: $(FUZZ_OBJ)/fuzz/fuzz_queued.o $(FUZZ_LIBOBJS) \
    $(filter-out %/scheduler.o,$(call fuzz_modules,queued))
	$(FUZZ_CC) $(FUZZ_XCFLAGS) -o $@ $(filter %.o,$^) $(PKG_LIBS)
$(FUZZ_OBJ)/fuzz/fuzz_queued.o: queued/main.c queued/scheduler.c
$(FUZZ_DAEMONS:%=$(FUZZ_OBJ)/fuzz/%.o): $(FUZZ_OBJ)/fuzz/fuzz_%.o: %/main.c lib/daemon.c fuzz/fuzz_daemon.h
$(FUZZ_DAEMONS:%=$(BUILD)/fuzz/%): $(BUILD)/fuzz/%: $(FUZZ_OBJ)/fuzz/%.o \
    $(filter-out $(FUZZ_OBJ)/lib/daemon.o,$(FUZZ_LIBOBJS))
	$(FUZZ_CC) $(FUZZ_XCFLAGS) -o $@ $(filter %.o,$^) $(PKG_LIBS)

fuzz: $(FUZZERS:%=$(BUILD)/fuzz/%)
	@b=$(abspath $(BUILD))/fuzz; for f in $(FUZZERS); do \
	    c=$$b/corpus-$${f#fuzz_}; mkdir -p $$c; \
	    echo "== $$f for $(FUZZ_SECONDS)s"; \
	    $$b/$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        -artifact_prefix=$$b/$$f- $$c $(CURDIR)/fuzz/corpus/$${f#fuzz_} \
	        || exit 1; \
	done

run: deps
	$(MAKE) all
	@sh scripts/run-dev.sh $(BUILD)

install: all $(BUILD)/empath.pc
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBEXECDIR) \
	    $(DESTDIR)$(SYSCONFDIR) $(DESTDIR)$(MANDIR)/man3 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
	    $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(INCLUDEDIR)/empath $(DESTDIR)$(PKGCONFIGDIR) \
	    $(DESTDIR)$(PLUGINDIR)
	install -m 755 $(BUILD)/empath-master $(BUILD)/empathctl $(DESTDIR)$(SBINDIR)/
	install -m 755 $(BUILD)/empath-sendmail $(DESTDIR)$(SBINDIR)/
	install -m 755 $(DAEMONS:%=$(BUILD)/empath-%) $(DESTDIR)$(LIBEXECDIR)/
	for m in man/*.3; do install -m 644 $$m $(DESTDIR)$(MANDIR)/man3/; done
	install -m 644 include/empath/empath.h $(DESTDIR)$(INCLUDEDIR)/empath/
	install -m 644 $(BUILD)/empath.pc $(DESTDIR)$(PKGCONFIGDIR)/
	for m in man/*.5; do install -m 644 $$m $(DESTDIR)$(MANDIR)/man5/; done
	for m in man/*.7; do install -m 644 $$m $(DESTDIR)$(MANDIR)/man7/; done
	for m in man/*.8; do install -m 644 $$m $(DESTDIR)$(MANDIR)/man8/; done
	# The example only: a reinstall never overwrites a real empath.conf.
	install -m 644 etc/empath.conf $(DESTDIR)$(SYSCONFDIR)/empath.conf.example

clean:
	rm -rf build build-san

.PHONY: all unit deps check bench fuzz run install clean pc FORCE

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# The example plugins (plugins/NAME/NAME.c, see plugins/README.md), built
# into $(BUILD)/plugins/NAME.so as a plugin author would: against the
# public header alone, as strict C11, with the warnings of the daemons.
# Every program that loads plugins exports em_log() too.
$(PLUGIN_HOSTS:%=$(BUILD)/%): $(OBJ)/lib/plugin_log.o
EXAMPLE_PLUGINS := $(foreach d,$(wildcard plugins/*/),$(BUILD)/plugins/$(notdir $(d:/=)).so)
EXAMPLE_CFLAGS   = -std=c11 -pedantic -Wall -Wextra -Werror -Wformat=2 \
                   -Wformat-security -Wmissing-prototypes -Wstrict-prototypes \
                   -Wpointer-arith -Wvla -fstack-protector-strong \
                   -D_FORTIFY_SOURCE=2 -fPIC -shared -Iinclude $(OPT)
$(EXAMPLE_PLUGINS): $(BUILD)/plugins/%.so: include/empath/empath.h
	@mkdir -p $(dir $@)
	$(CC) $(EXAMPLE_CFLAGS) $(SANLD) -Wl,-z,relro,-z,now -o $@ plugins/$*/$*.c
	chmod 755 $@
$(foreach p,$(EXAMPLE_PLUGINS),$(eval $(p): plugins/$(basename $(notdir $(p)))/$(basename $(notdir $(p))).c))
all: $(EXAMPLE_PLUGINS)
install: install-plugins
install-plugins: $(EXAMPLE_PLUGINS)
	install -d $(DESTDIR)$(PLUGINDIR)
	install -m 644 $(EXAMPLE_PLUGINS) $(DESTDIR)$(PLUGINDIR)/

$(BUILD)/tests/test_plugin_examples: LDFLAGS += $(PLUGIN_LD)
$(BUILD)/tests/test_plugin_examples: $(OBJ)/lib/plugin_ctx.o \
    $(OBJ)/lib/plugin_log.o $(EXAMPLE_PLUGINS)
$(UNIT_OBJ)/test_plugin_examples.o: CFLAGS += \
    -DEXAMPLE_PLUGIN_DIR='"$(abspath $(BUILD))/plugins"'
.PHONY: install-plugins

# The Debian packages (debian/; needs dpkg-dev and debhelper): built by
# dpkg-buildpackage in a copy of the tracked files, so that the build tree
# here is left alone; the .deb files land in $(BUILD)/deb/. Not part of
# `make check`. The inner build must not see this make's flags, and its
# copy goes afterwards (its *.d files would be read by this Makefile).
DEB_SRC = $(BUILD)/deb/empath-$(shell sed -n 's/^#define EMPATH_VERSION "\(.*\)"/\1/p' lib/util.h)
deb:
	rm -rf $(BUILD)/deb
	mkdir -p $(DEB_SRC)
	git ls-files -z | xargs -0 tar cf - | tar xf - -C $(DEB_SRC)
	cd $(DEB_SRC) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    dpkg-buildpackage -us -uc -b; rc=$$?; cd $(CURDIR); \
	    rm -rf $(DEB_SRC); exit $$rc
	@ls -l $(BUILD)/deb/*.deb
.PHONY: deb

# The Debian packages installed, run and purged on a fresh Debian 12 tree
# (scripts/package-check.sh): needs root and debootstrap, else it says why
# and exits 77. Not part of `make check`.
package-check:
	@sh scripts/package-check.sh $(BUILD)
.PHONY: package-check
