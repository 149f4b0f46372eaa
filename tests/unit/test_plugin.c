/* SPDX-License-Identifier: ISC */
/* The plugin loader (lib/plugin.c) with the real shared objects of
 * tests/plugins/, built against <empath/empath.h> alone: a good plugin
 * is loaded, initialised with its args and its hooks reach the
 * em_context accessors exported by this program; a missing file, a
 * missing descriptor, another API version, a mismatched name and a
 * failing init are refused with "file:line: plugin ..." errors; loading
 * a configuration is all or nothing; each daemon initialises only the
 * plugins with a point of its own. */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fixture.h"
#include "plugin.h"
#include "plugin_ctx.h"

#ifndef TEST_PLUGIN_DIR
#error TEST_PLUGIN_DIR must name the directory of the test plugins
#endif

static char trace_file[512];
static char err[4096];

static void
setup(void)
{
	snprintf(trace_file, sizeof(trace_file), "%s/trace",
	    fx_tmpdir("plugin"));
	err[0] = '\0';
}

/* The lines init and fini wrote, joined with '|'. */
static const char *
traced(void)
{
	static char out[2048];
	char line[512];
	FILE *f;
	size_t n;

	out[0] = '\0';
	if ((f = fopen(trace_file, "r")) == NULL)
		return out;
	while (fgets(line, sizeof(line), f) != NULL) {
		if ((n = strlen(line)) > 0 && line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (out[0] != '\0')
			strlcat(out, "|", sizeof(out));
		strlcat(out, line, sizeof(out));
	}
	fclose(f);
	return out;
}

static int
load(struct plugins *ps, const char *name, uint32_t mask)
{
	char *args[] = { trace_file, "two words", NULL };

	return plugin_load(ps, TEST_PLUGIN_DIR, name, 2, args, mask,
	    "t.conf:7", err, sizeof(err));
}

START_TEST(good_plugin_loads_with_its_args)
{
	struct plugins ps;
	struct plugin *p;
	char want[1024];

	plugins_init(&ps, 100);
	ck_assert_int_eq(load(&ps, "good", 0), 0);
	p = TAILQ_FIRST(&ps.list);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->name, "good");
	ck_assert_str_eq(p->version, "1.2.3");
	ck_assert(p->initialised);
	ck_assert_uint_eq(p->points, (1u << EM_VALIDATE_HELO) |
	    (1u << EM_VALIDATE_RCPT) | (1u << EM_VALIDATE_DATA));
	/* argv[0] is the plugin's name, then the args as configured. */
	snprintf(want, sizeof(want), "init good %s two words", trace_file);
	ck_assert_str_eq(traced(), want);
	plugins_unload(&ps);
	ck_assert(TAILQ_EMPTY(&ps.list));
	strlcat(want, "|fini good", sizeof(want));
	ck_assert_str_eq(traced(), want);
}
END_TEST

/* The hooks run in the plugin and call back into this program. */
START_TEST(hooks_use_the_accessors)
{
	struct plugins ps;
	const struct plugin *who = NULL;
	struct em_context *c = plugin_ctx_new();
	const char *text;
	int code;

	plugins_init(&ps, 100);
	ck_assert_int_eq(load(&ps, "good", 0), 0);
	plugin_ctx_set_sender(c, "a@example.org");
	plugin_ctx_add_rcpt(c, "b@example.org");
	ck_assert_int_eq(plugins_run_hook(&ps, EM_VALIDATE_RCPT, c, &who),
	    EM_ACCEPT);
	ck_assert_str_eq(em_context_get(c, "seen-sender"), "a@example.org");
	plugin_ctx_add_rcpt(c, "c@example.org");
	ck_assert_int_eq(plugins_run_hook(&ps, EM_VALIDATE_RCPT, c, &who),
	    EM_REJECT);
	ck_assert_ptr_eq(who, TAILQ_FIRST(&ps.list));
	text = em_context_get_response(c, &code);
	ck_assert_int_eq(code, 550);
	ck_assert_str_eq(text, "5.5.3 one recipient only");
	ck_assert_uint_eq(TAILQ_FIRST(&ps.list)->calls[EM_VALIDATE_RCPT], 2);

	plugin_ctx_set_data(c, (const unsigned char *)"Subject: x\r\n\r\n", 14);
	ck_assert_int_eq(plugins_run_hook(&ps, EM_VALIDATE_DATA, c, NULL),
	    EM_ACCEPT);
	ck_assert_uint_eq(c->nheaders, 1);
	ck_assert_str_eq(c->headers[0].name, "X-Good");
	ck_assert_str_eq(c->headers[0].value, "data");
	/* A point the plugin does not implement is not called. */
	ck_assert_int_eq(plugins_run_hook(&ps, EM_VALIDATE_MAIL, c, NULL),
	    EM_ACCEPT);
	ck_assert_uint_eq(TAILQ_FIRST(&ps.list)->calls[EM_VALIDATE_MAIL], 0);
	/* Nor is a disabled plugin. */
	TAILQ_FIRST(&ps.list)->disabled = true;
	ck_assert_int_eq(plugins_run_hook(&ps, EM_VALIDATE_RCPT, c, NULL),
	    EM_ACCEPT);
	ck_assert_uint_eq(TAILQ_FIRST(&ps.list)->calls[EM_VALIDATE_RCPT], 2);
	plugin_ctx_free(c);
	plugins_unload(&ps);
}
END_TEST

/* Events reach the plugins that have them; a hook's response is not
 * left over for an event to see. */
START_TEST(events_reach_the_plugin)
{
	struct plugins ps;
	struct em_context *c = plugin_ctx_new();
	struct plugin *p;
	int code;

	plugins_init(&ps, 100);
	ck_assert_int_eq(load(&ps, "second", 0), 0);
	p = TAILQ_FIRST(&ps.list);
	plugin_ctx_begin(c, EM_VALIDATE_RCPT);
	ck_assert_int_eq(em_context_set_response(c, 550, "no"), 0);
	plugin_ctx_set_delivery(c, "x.test", "mx.x.test", "192.0.2.1", 1);
	plugins_run_event(&ps, EM_EVENT_DELIVERY_FAILURE, c);
	ck_assert_ptr_null(em_context_get(c, "delivered-to"));
	ck_assert_uint_eq(p->calls[EM_EVENT_DELIVERY_FAILURE], 0);
	plugins_run_event(&ps, EM_EVENT_DELIVERY_SUCCESS, c);
	ck_assert_uint_eq(p->calls[EM_EVENT_DELIVERY_SUCCESS], 1);
	ck_assert_str_eq(em_context_get(c, "delivered-to"), "mx.x.test");
	ck_assert_ptr_null(em_context_get_response(c, &code));
	ck_assert_int_eq(code, 0);
	/* At an SMTP error the event sees the reply the daemon set. */
	plugin_ctx_set_reply(c, 554, "5.7.1 go away");
	plugins_run_event(&ps, EM_EVENT_SMTP_ERROR, c);
	ck_assert_str_eq(em_context_get_response(c, &code), "5.7.1 go away");
	ck_assert_int_eq(code, 554);
	plugin_ctx_free(c);
	plugins_unload(&ps);
}
END_TEST

/* A call longer than the limit is counted as slow (and logged). */
START_TEST(slow_hook_is_counted)
{
	struct plugins ps;
	struct em_context *c = plugin_ctx_new();
	struct plugin *p;

	plugins_init(&ps, 5);
	ck_assert_int_eq(load(&ps, "good", 0), 0);
	p = TAILQ_FIRST(&ps.list);
	plugin_ctx_set_peer(c, "192.0.2.1", "fast");
	plugins_run_hook(&ps, EM_VALIDATE_HELO, c, NULL);
	ck_assert_uint_eq(p->slow[EM_VALIDATE_HELO], 0);
	plugin_ctx_set_peer(c, "192.0.2.1", "slow");
	plugins_run_hook(&ps, EM_VALIDATE_HELO, c, NULL);
	ck_assert_uint_eq(p->calls[EM_VALIDATE_HELO], 2);
	ck_assert_uint_eq(p->slow[EM_VALIDATE_HELO], 1);
	/* 0 turns the warning off. */
	ps.warn_ms = 0;
	plugins_run_hook(&ps, EM_VALIDATE_HELO, c, NULL);
	ck_assert_uint_eq(p->slow[EM_VALIDATE_HELO], 1);
	plugin_ctx_free(c);
	plugins_unload(&ps);
}
END_TEST

static void
refused(const char *name, const char *expect)
{
	struct plugins ps;

	plugins_init(&ps, 100);
	err[0] = '\0';
	ck_assert_int_eq(load(&ps, name, 0), -1);
	ck_assert(TAILQ_EMPTY(&ps.list));
	ck_assert_msg(strstr(err, expect) != NULL, "\"%s\" lacks \"%s\"", err,
	    expect);
	ck_assert_msg(strncmp(err, "t.conf:7: plugin ", 17) == 0, "%s", err);
}

START_TEST(missing_file)
{
	refused("absent", "/absent.so: No such file or directory");
}
END_TEST

START_TEST(missing_descriptor)
{
	refused("nodesc", "has no empath_plugin descriptor");
	refused("notdesc", "empath_plugin is not a descriptor made by "
	    "EMPATH_PLUGIN()");
	/* Never initialised: no line in the trace. */
	ck_assert_str_eq(traced(), "");
}
END_TEST

START_TEST(wrong_api_version)
{
	char want[128];

	snprintf(want, sizeof(want), "built for plugin API version %d, this "
	    "Empath has version %d", EMPATH_API_VERSION + 41, EMPATH_API_VERSION);
	refused("badver", want);
}
END_TEST

START_TEST(descriptor_names_another_plugin)
{
	refused("misnamed", "declares the name other");
}
END_TEST

START_TEST(failing_init)
{
	char want[1024];

	refused("failinit", "init failed (returned -1)");
	/* init ran, fini did not: a plugin that failed has nothing to
	 * finish. */
	snprintf(want, sizeof(want), "init failinit %s two words", trace_file);
	ck_assert_str_eq(traced(), want);
}
END_TEST

START_TEST(names_that_are_paths)
{
	refused("../good", "invalid name");
	refused("sub/good", "invalid name");
	refused(".hidden", "invalid name");
	refused("", "invalid name");
}
END_TEST

/* A plugin file others may write would run their code as root. */
START_TEST(writable_file_refused)
{
	char path[600], dir[512];
	char cmd[1400];

	snprintf(dir, sizeof(dir), "%s", fx_tmpdir("pluginw"));
	snprintf(path, sizeof(path), "%s/good.so", dir);
	snprintf(cmd, sizeof(cmd), "cp %s/good.so %s", TEST_PLUGIN_DIR, path);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(chmod(path, 0775), 0);
	{
		struct plugins ps;
		char *args[] = { trace_file, NULL };

		plugins_init(&ps, 100);
		ck_assert_int_eq(plugin_load(&ps, dir, "good", 1, args, 0, "w:1",
		    err, sizeof(err)), -1);
		ck_assert_msg(strstr(err, "writable by its group or others") !=
		    NULL, "%s", err);
		ck_assert_int_eq(chmod(path, 0755), 0);
		ck_assert_int_eq(plugin_load(&ps, dir, "good", 1, args, 0, "w:1",
		    err, sizeof(err)), 0);
		plugins_unload(&ps);
	}
}
END_TEST

/* A copy of good.so in a fresh directory of this user. */
static const char *
good_copy(const char *tag)
{
	static char dir[512];
	char cmd[1400];

	snprintf(dir, sizeof(dir), "%s", fx_tmpdir(tag));
	snprintf(cmd, sizeof(cmd), "cp %s/good.so %s/real.so", TEST_PLUGIN_DIR,
	    dir);
	ck_assert_int_eq(system(cmd), 0);
	return dir;
}

static int
load_from(const char *dir, const char *name)
{
	struct plugins ps;
	char *args[] = { trace_file, NULL };
	int r;

	plugins_init(&ps, 100);
	r = plugin_load(&ps, dir, name, 1, args, 0, "w:1", err, sizeof(err));
	plugins_unload(&ps);
	return r;
}

/* The file checked is the file loaded: a link could be turned to
 * another file between the two. */
START_TEST(symlinked_file_refused)
{
	const char *dir = good_copy("plugins");
	char link[600], real[600];

	snprintf(link, sizeof(link), "%s/good.so", dir);
	snprintf(real, sizeof(real), "%s/real.so", dir);
	ck_assert_int_eq(symlink(real, link), 0);
	ck_assert_int_eq(load_from(dir, "good"), -1);
	ck_assert_msg(strstr(err, "good.so: a symbolic link") != NULL, "%s",
	    err);
	ck_assert_str_eq(traced(), "");
	ck_assert_int_eq(unlink(link), 0);
	ck_assert_int_eq(rename(real, link), 0);
	ck_assert_msg(load_from(dir, "good") == 0, "%s", err);
}
END_TEST

/* Whoever may write the directory may replace the plugin in it. */
START_TEST(writable_directory_refused)
{
	const char *dir = good_copy("plugins");
	char from[600], to[600];

	snprintf(from, sizeof(from), "%s/real.so", dir);
	snprintf(to, sizeof(to), "%s/good.so", dir);
	ck_assert_int_eq(rename(from, to), 0);
	ck_assert_int_eq(chmod(dir, 0770), 0);
	ck_assert_int_eq(load_from(dir, "good"), -1);
	ck_assert_msg(strstr(err, "writable by its group or others (mode 770)")
	    != NULL && strstr(err, "directory ") != NULL, "%s", err);
	ck_assert_str_eq(traced(), "");
	ck_assert_int_eq(chmod(dir, 0702), 0);
	ck_assert_int_eq(load_from(dir, "good"), -1);
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_msg(load_from(dir, "good") == 0, "%s", err);
}
END_TEST

static struct config *
conf(const char *body)
{
	char text[2048];
	struct config *c;

	snprintf(text, sizeof(text), "plugin-dir \"%s\"\n%s", TEST_PLUGIN_DIR,
	    body);
	c = fx_parse(text);
	ck_assert_msg(c != NULL, "%s", fx_nerrs ? fx_errs[0] : "");
	return c;
}

/* All or nothing: the plugins initialised before a failure are finished,
 * in reverse order, and the error names the failing statement's line. */
START_TEST(config_all_or_nothing)
{
	char text[2048], want[2048];
	struct plugins ps;
	struct config *c;

	snprintf(text, sizeof(text),
	    "plugin \"good\" { args \"%s\" }\n"
	    "plugin \"second\" {\n args \"%s\"\n}\n"
	    "plugin \"failinit\" { args \"%s\" \"x\" }\n",
	    trace_file, trace_file, trace_file);
	c = conf(text);
	ck_assert_int_eq(plugins_load_config(&ps, c, "t.conf", 0, err,
	    sizeof(err)), -1);
	ck_assert(TAILQ_EMPTY(&ps.list));
	ck_assert_msg(strncmp(err, "t.conf:6: plugin \"failinit\": init failed",
	    40) == 0, "%s", err);
	snprintf(want, sizeof(want), "init good %s|init second %s|"
	    "init failinit %s x|fini second|fini good", trace_file, trace_file,
	    trace_file);
	ck_assert_str_eq(traced(), want);
	config_free(c);
}
END_TEST

/* Each daemon initialises only the plugins with a point of its own. */
START_TEST(config_per_daemon)
{
	char text[2048], want[2048];
	const struct plugin *list[4];
	struct plugins ps;
	struct config *c;

	snprintf(text, sizeof(text),
	    "plugin \"good\" { args \"%s\" }\nplugin \"second\" { args \"%s\" }\n"
	    "plugin-hook-warn-ms 250\n", trace_file, trace_file);
	c = conf(text);
	ck_assert_int_eq(plugins_load_config(&ps, c, "t.conf",
	    plugin_daemon_points(PLUGIN_QUEUED), err, sizeof(err)), 0);
	ck_assert(TAILQ_EMPTY(&ps.list));
	ck_assert_str_eq(traced(), "");

	ck_assert_int_eq(plugins_load_config(&ps, c, "t.conf",
	    plugin_daemon_points(PLUGIN_DELIVERD), err, sizeof(err)), 0);
	ck_assert_uint_eq(ps.warn_ms, 250);
	ck_assert_uint_eq(plugins_for_daemon(&ps, PLUGIN_DELIVERD, list, 4), 1);
	ck_assert_str_eq(list[0]->name, "second");
	ck_assert_uint_eq(plugins_for_daemon(&ps, PLUGIN_SMTPD, list, 4), 0);
	snprintf(want, sizeof(want), "init second %s", trace_file);
	ck_assert_str_eq(traced(), want);
	plugins_unload(&ps);

	/* Mask 0 (the check of empath-master -n): every plugin. */
	ck_assert_int_eq(plugins_load_config(&ps, c, "t.conf", 0, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(plugins_for_daemon(&ps, PLUGIN_SMTPD, list, 4), 1);
	ck_assert_str_eq(list[0]->name, "good");
	ck_assert_uint_eq(plugins_for_daemon(&ps, PLUGIN_QUEUED, list, 4), 0);
	plugins_unload(&ps);
	config_free(c);
}
END_TEST

static int nchecked;
static char checked[4][512];

static void
collect(const char *line)
{
	if (nchecked < 4)
		strlcpy(checked[nchecked], line, sizeof(checked[0]));
	nchecked++;
}

/* empath-master -n: every plugin on its own, every error reported. */
START_TEST(check_reports_each_error)
{
	char text[2048], want[2048];
	struct config *c;

	snprintf(text, sizeof(text),
	    "plugin \"absent\"\nplugin \"good\" { args \"%s\" }\n"
	    "plugin \"nodesc\"\nplugin \"failinit\" { args \"%s\" }\n",
	    trace_file, trace_file);
	c = conf(text);
	nchecked = 0;
	ck_assert_int_eq(plugins_check(c, "t.conf", collect), 3);
	ck_assert_int_eq(nchecked, 3);
	ck_assert_msg(strncmp(checked[0], "t.conf:2: plugin \"absent\"", 25) ==
	    0, "%s", checked[0]);
	ck_assert_msg(strncmp(checked[1], "t.conf:4: plugin \"nodesc\"", 25) ==
	    0, "%s", checked[1]);
	ck_assert_msg(strncmp(checked[2], "t.conf:5: plugin \"failinit\"", 27) ==
	    0, "%s", checked[2]);
	snprintf(want, sizeof(want), "init good %s|fini good|init failinit %s",
	    trace_file, trace_file);
	ck_assert_str_eq(traced(), want);
	config_free(c);
}
END_TEST

/* The statements of empath.conf(5). */
START_TEST(config_grammar)
{
	struct config *c;
	struct cfg_plugin *cp;

	c = fx_parse("hostname \"mx.test\"");
	ck_assert_ptr_nonnull(c);
	ck_assert(TAILQ_EMPTY(&c->plugins));
	ck_assert_str_eq(c->plugin_dir, PLUGINDIR);
	ck_assert_uint_eq(c->plugin_warn_ms, 100);
	config_free(c);

	c = fx_parse("plugin \"a\"\nplugin \"b-1.x\" {\n args \"1\" \"two\"\n"
	    " args \"3\"\n}\nplugin-dir \"/opt/p\"\nplugin-hook-warn-ms 0\n");
	ck_assert_msg(c != NULL, "%s", fx_nerrs ? fx_errs[0] : "");
	cp = TAILQ_FIRST(&c->plugins);
	ck_assert_str_eq(cp->name, "a");
	ck_assert_uint_eq(cp->line, 1);
	ck_assert_uint_eq(cp->nargs, 0);
	cp = TAILQ_NEXT(cp, entry);
	ck_assert_str_eq(cp->name, "b-1.x");
	ck_assert_uint_eq(cp->line, 2);
	ck_assert_uint_eq(cp->nargs, 3);
	ck_assert_str_eq(cp->args[0], "1");
	ck_assert_str_eq(cp->args[1], "two");
	ck_assert_str_eq(cp->args[2], "3");
	ck_assert_ptr_null(cp->args[3]);
	ck_assert_str_eq(c->plugin_dir, "/opt/p");
	ck_assert_uint_eq(c->plugin_warn_ms, 0);
	config_free(c);

	ck_assert_ptr_null(fx_parse("plugin \"a\"\n\nplugin \"a\" { }"));
	ck_assert_int_eq(fx_nerrs, 1);
	ck_assert_str_eq(fx_errs[0], "t.conf:3: duplicate plugin \"a\" (line 1)");
	fx_reset_errs();
	ck_assert_ptr_null(fx_parse("plugin \"../evil\"\nplugin \".x\""));
	ck_assert_int_eq(fx_nerrs, 2);
	ck_assert_msg(strncmp(fx_errs[0], "t.conf:1: invalid plugin name "
	    "\"../evil\"", 39) == 0, "%s", fx_errs[0]);
	ck_assert_msg(strncmp(fx_errs[1], "t.conf:2: invalid plugin name", 29)
	    == 0, "%s", fx_errs[1]);
	fx_reset_errs();
	ck_assert_ptr_null(fx_parse("plugin-dir \"rel/dir\"\n"
	    "plugin-hook-warn-ms 600001\nplugin-dir \"/b\""));
	ck_assert_int_eq(fx_nerrs, 3);
	ck_assert_str_eq(fx_errs[2], "t.conf:3: plugin-dir given twice");
	ck_assert_str_eq(fx_errs[0], "t.conf:1: plugin-dir must be an absolute"
	    " path");
	ck_assert_str_eq(fx_errs[1], "t.conf:2: plugin-hook-warn-ms 600001 out"
	    " of range (0 to 600000)");
	fx_reset_errs();
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("plugin");
	TCase *tc = tcase_create("loader");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, good_plugin_loads_with_its_args);
	tcase_add_test(tc, hooks_use_the_accessors);
	tcase_add_test(tc, events_reach_the_plugin);
	tcase_add_test(tc, slow_hook_is_counted);
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, missing_descriptor);
	tcase_add_test(tc, wrong_api_version);
	tcase_add_test(tc, descriptor_names_another_plugin);
	tcase_add_test(tc, failing_init);
	tcase_add_test(tc, names_that_are_paths);
	tcase_add_test(tc, writable_file_refused);
	tcase_add_test(tc, symlinked_file_refused);
	tcase_add_test(tc, writable_directory_refused);
	tcase_add_test(tc, config_all_or_nothing);
	tcase_add_test(tc, config_per_daemon);
	tcase_add_test(tc, check_reports_each_error);
	tcase_add_test(tc, config_grammar);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(suite);
