/* SPDX-License-Identifier: ISC */
/* Benchmark sink: accepts SMTP on a port, a thread per connection, throws
 * messages away and counts them. Every 50 ms it rewrites a status file
 * with "messages seconds-since-first-message". */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_long count;
static double first, last;
static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
say(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void *
serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[65536], line[2048];
	size_t ll = 0;
	int data = 0;

	say(fd, "220 sink ESMTP\r\n");
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			char ch = buf[i];

			if (ll < sizeof(line) - 1)
				line[ll++] = ch;
			if (ch != '\n')
				continue;
			line[ll] = '\0';
			ll = 0;
			if (data) {
				if (strcmp(line, ".\r\n") == 0) {
					double t = now_s();

					data = 0;
					pthread_mutex_lock(&mtx);
					if (first == 0)
						first = t;
					last = t;
					pthread_mutex_unlock(&mtx);
					atomic_fetch_add(&count, 1);
					say(fd, "250 2.0.0 ok\r\n");
				}
				continue;
			}
			if (!strncasecmp(line, "EHLO", 4))
				say(fd, "250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
			else if (!strncasecmp(line, "DATA", 4)) {
				data = 1;
				say(fd, "354 go\r\n");
			} else if (!strncasecmp(line, "QUIT", 4)) {
				say(fd, "221 bye\r\n");
				goto out;
			} else
				say(fd, "250 ok\r\n");
		}
	}
out:
	close(fd);
	return NULL;
}

static void *
reporter(void *arg)
{
	const char *path = arg;
	char tmp[4096];

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	for (;;) {
		FILE *f = fopen(tmp, "w");

		if (f) {
			pthread_mutex_lock(&mtx);
			fprintf(f, "%ld %.3f\n", (long)count, first ? last - first : 0.0);
			pthread_mutex_unlock(&mtx);
			fclose(f);
			rename(tmp, path);
		}
		usleep(50000);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	pthread_t t;
	int fd, one = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: smtpsink port statusfile\n");
		return 2;
	}
	sin.sin_port = htons((uint16_t)atoi(argv[1]));
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, SOMAXCONN) == -1) {
		perror("smtpsink: bind");
		return 1;
	}
	pthread_create(&t, NULL, reporter, argv[2]);
	pthread_detach(t);
	for (;;) {
		int c = accept(fd, NULL, NULL);

		if (c == -1)
			continue;
		pthread_create(&t, NULL, serve, (void *)(intptr_t)c);
		pthread_detach(t);
	}
}
