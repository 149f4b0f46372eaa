/* SPDX-License-Identifier: ISC */
/* For the test plugins: init and fini append a line to the file named by
 * the first arg, so that tests/unit/test_plugin.c sees which ran, with
 * which args, in which order, even after the plugin is unloaded. */
#include <stdio.h>

static char trace_path[512];

static void
trace(const char *what, int argc, char **argv)
{
	FILE *f;
	int i;

	if (trace_path[0] == '\0' || (f = fopen(trace_path, "a")) == NULL)
		return;
	fputs(what, f);
	for (i = 0; i < argc; i++)
		fprintf(f, " %s", argv[i]);
	fputc('\n', f);
	fclose(f);
}

static void
trace_open(int argc, char **argv)
{
	if (argc >= 2)
		snprintf(trace_path, sizeof(trace_path), "%s", argv[1]);
}
