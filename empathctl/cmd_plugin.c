/* SPDX-License-Identifier: ISC */
/* empathctl plugin ...: the plugins each daemon loaded.
 *
 *   plugin list    per daemon: each plugin, its version, its hook and
 *                  event calls, the slow ones, and whether empath-master
 *                  disabled it after repeated crashes
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "empathctl.h"
#include "proto.h"
#include "wire_ctl.h"

static int
plugin_usage(void)
{
	fprintf(stderr, "usage: empathctl plugin list\n");
	return EXIT_USAGE;
}

int
plugin_disabled_parse(const struct ctl_reply *reply,
    struct plugin_disabled *out)
{
	static struct wire_plugin_list w;
	struct chan_msg m = out_msg(reply);
	uint32_t i;

	out->n = 0;
	if (reply->type != CTL_PLUGIN_LIST_REPLY ||
	    wire_plugin_list_decode(&m, &w) == -1)
		return -1;
	for (i = 0; i < w.n && out->n < PLUGIN_DISABLED_MAX; i++) {
		if (!w.row[i].disabled)
			continue;
		out_clean(out->row[out->n].daemon, sizeof(out->row[0].daemon),
		    w.row[i].daemon);
		out_clean(out->row[out->n].name, sizeof(out->row[0].name),
		    w.row[i].name);
		out->n++;
	}
	return 0;
}

int
print_plugin_list(const struct ctl_reply *reply, bool json)
{
	static struct wire_plugin_list w;
	struct chan_msg m = out_msg(reply);
	char daemon[32], name[160], version[WIRE_PLUGIN_VERSION_MAX * 4 + 1];
	uint32_t i;

	if (reply->type != CTL_PLUGIN_LIST_REPLY)
		return out_not_expected(reply);
	if (wire_plugin_list_decode(&m, &w) == -1)
		return out_malformed();
	if (json)
		printf("[");
	else if (w.n == 0)
		printf("(no plugin loaded)\n");
	else
		printf("%-9s %-24s %-12s %10s %10s %6s  %s\n", "DAEMON", "PLUGIN",
		    "VERSION", "HOOKS", "EVENTS", "SLOW", "STATE");
	for (i = 0; i < w.n; i++) {
		const struct wire_plugin_row *r = &w.row[i];

		out_clean(daemon, sizeof(daemon), r->daemon);
		out_clean(name, sizeof(name), r->name);
		out_clean(version, sizeof(version), r->version);
		if (json) {
			printf("%s{\"daemon\":", i ? "," : "");
			out_json_str(daemon);
			printf(",\"name\":");
			out_json_str(name);
			printf(",\"version\":");
			out_json_str(version);
			printf(",\"hook_calls\":%" PRIu64 ",\"event_calls\":%" PRIu64
			    ",\"slow_calls\":%" PRIu64 ",\"disabled\":%s}",
			    r->hooks, r->events, r->slow,
			    r->disabled ? "true" : "false");
		} else
			printf("%-9s %-24s %-12s %10" PRIu64 " %10" PRIu64 " %6"
			    PRIu64 "  %s\n", daemon, name, version[0] ? version :
			    "-", r->hooks, r->events, r->slow, r->disabled ?
			    "disabled (crashed repeatedly)" : "loaded");
	}
	if (json)
		printf("]\n");
	return EXIT_OK;
}

static const struct subcmd sub_list = { "plugin list", "", NULL };

int
cmd_plugin(int argc, char **argv, struct ctl_opts *o)
{
	static struct ctl_reply reply;   /* large: off the stack */
	char err[512];
	int ch;

	if (argc < 1)
		return plugin_usage();
	if (strcmp(argv[0], "list") != 0) {
		fprintf(stderr, "empathctl: plugin: unknown command %.64s\n",
		    argv[0]);
		return plugin_usage();
	}
	optind = 0;
	if ((ch = sub_getopt(argc, argv, &sub_list, o)) != -1)
		return ch == SUB_HELP ? EXIT_OK : EXIT_USAGE;
	if (optind < argc)
		return sub_error(&sub_list, "unexpected argument %.64s",
		    argv[optind]);
	if (ctl_roundtrip(o->socket, CTL_PLUGIN_LIST, NULL, 0, &reply, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "empathctl: %s\n", err);
		return EXIT_FAIL;
	}
	return print_plugin_list(&reply, o->json);
}
