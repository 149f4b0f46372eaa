/* SPDX-License-Identifier: ISC */
/* The disk's own sync latency, for comparison with a 250's: a loop of
 * write(4 KiB) + fdatasync() on one file in the given directory (put it
 * on the spool's file system), and the same with syncfs(). Prints the
 * median and the 99th percentile. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	char path[4096], buf[4096];
	int n = argc > 2 ? atoi(argv[2]) : 500, i, fd, mode;
	double *t;

	if (argc < 2 || n <= 0) {
		fprintf(stderr, "usage: disksync dir [count]\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/disksync.tmp", argv[1]);
	t = calloc((size_t)n, sizeof(*t));
	memset(buf, 'x', sizeof(buf));
	for (mode = 0; mode < 2; mode++) {
		fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
		if (fd == -1) {
			perror(path);
			return 1;
		}
		for (i = 0; i < n; i++) {
			double t0 = now_ms();

			if (write(fd, buf, sizeof(buf)) != sizeof(buf) ||
			    (mode == 0 ? fdatasync(fd) : syncfs(fd)) == -1) {
				perror("write/sync");
				return 1;
			}
			t[i] = now_ms() - t0;
		}
		close(fd);
		qsort(t, (size_t)n, sizeof(*t), cmp);
		printf("%s write 4 KiB + %s: median=%.3fms p99=%.3fms\n",
		    mode == 0 ? "disk:" : "     ", mode == 0 ? "fdatasync" :
		    "syncfs   ", t[n / 2], t[(n * 99) / 100]);
	}
	unlink(path);
	return 0;
}
