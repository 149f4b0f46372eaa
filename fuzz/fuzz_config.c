/* SPDX-License-Identifier: ISC */
/* libFuzzer harness for the configuration parser (lib/parse.y through
 * config_parse), which the daemons also run on the master's snapshot. */
#include <stdint.h>
#include <stdlib.h>

#include "config.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static void
quiet(const char *line)
{
	(void)line;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg;

	cfg = config_parse("fuzz", (const char *)data, size, quiet);
	if (cfg != NULL)
		config_free(cfg);
	return 0;
}
