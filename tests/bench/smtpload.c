/* SPDX-License-Identifier: ISC */
/* Benchmark load generator: N concurrent SMTP sessions, each sending
 * messages of a given size over one connection (MAIL, RCPT, DATA, one
 * round trip each, as an ordinary client does), or holding idle sessions
 * open for memory measurements. Prints one line of figures. */
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *host = "127.0.0.1";
static int port = 2525, sessions = 1, size = 4096;
static long total = 1000;
static const char *rcpt = "bench@sink.test";
static atomic_long next_msg, sent, failed;
/* The latency of each 250 to DATA: from the end of the data (its last
 * byte written) to the reply, in microseconds; one slot a message. */
static uint32_t *lat_us;
static atomic_long nlat;
static char *body;
static size_t bodylen;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct conn {
	int fd;
	char buf[8192];
	size_t len;
};

static int
conn_open(struct conn *c)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1;

	inet_pton(AF_INET, host, &sin.sin_addr);
	c->len = 0;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd == -1)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(c->fd);
		return -1;
	}
	return 0;
}

/* Read one whole (possibly multi-line) reply; return its code. */
static int
reply(struct conn *c)
{
	for (;;) {
		char *nl;

		while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
			size_t linelen = (size_t)(nl - c->buf) + 1;
			int code = atoi(c->buf);
			int last = linelen > 3 && c->buf[3] != '-';

			memmove(c->buf, nl + 1, c->len - linelen);
			c->len -= linelen;
			if (last)
				return code;
		}
		if (c->len == sizeof(c->buf))
			return -1;
		ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n <= 0)
			return -1;
		c->len += (size_t)n;
	}
}

static int
say(struct conn *c, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(c->fd, s, n);

		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
cmd(struct conn *c, const char *s)
{
	if (say(c, s, strlen(s)) == -1)
		return -1;
	return reply(c);
}

static int
session_start(struct conn *c)
{
	if (conn_open(c) == -1 || reply(c) != 220 ||
	    cmd(c, "EHLO bench.example\r\n") != 250)
		return -1;
	return 0;
}

static void *
sender(void *arg)
{
	struct conn c;
	char line[512];

	(void)arg;
	if (session_start(&c) == -1) {
		fprintf(stderr, "smtpload: cannot start a session\n");
		atomic_fetch_add(&failed, 1);
		return NULL;
	}
	while (atomic_fetch_add(&next_msg, 1) < total) {
		double end_of_data = 0;
		int code = -1;

		snprintf(line, sizeof(line), "RCPT TO:<%s>\r\n", rcpt);
		if (cmd(&c, "MAIL FROM:<load@bench.example>\r\n") == 250 &&
		    cmd(&c, line) == 250 && cmd(&c, "DATA\r\n") == 354 &&
		    say(&c, body, bodylen) == 0) {
			end_of_data = now_s();
			code = reply(&c);
		}
		if (code == 250) {
			long k = atomic_fetch_add(&nlat, 1);

			if (k < total)
				lat_us[k] = (uint32_t)((now_s() - end_of_data) * 1e6);
		}
		if (code != 250) {
			atomic_fetch_add(&failed, 1);
			close(c.fd);
			if (session_start(&c) == -1)
				return NULL;
			continue;
		}
		atomic_fetch_add(&sent, 1);
	}
	cmd(&c, "QUIT\r\n");
	close(c.fd);
	return NULL;
}

static void
make_body(void)
{
	size_t i = 0;
	int n = 0;

	body = malloc((size_t)size + 512);
	i += (size_t)sprintf(body, "From: load@bench.example\r\nTo: %s\r\n"
	    "Subject: bench\r\n\r\n", rcpt);
	while (i + 80 < (size_t)size) {
		i += (size_t)sprintf(body + i, "%06d the quick brown fox jumps over "
		    "the lazy dog 0123456789 abcdefghijklmnopqrstuv\r\n", n++);
	}
	i += (size_t)sprintf(body + i, ".\r\n");
	bodylen = i;
}

static int
idle(int n, int hold)
{
	struct conn *cs = calloc((size_t)n, sizeof(*cs));
	int i, open = 0;

	for (i = 0; i < n; i++)
		if (session_start(&cs[i]) == 0)
			open++;
	printf("idle sessions open: %d\n", open);
	fflush(stdout);
	sleep((unsigned)hold);
	for (i = 0; i < n; i++)
		close(cs[i].fd);
	return open == n ? 0 : 1;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void
report_latency(void)
{
	long n = atomic_load(&nlat);

	if (n > total)
		n = total;
	if (n == 0)
		return;
	qsort(lat_us, (size_t)n, sizeof(*lat_us), cmp_u32);
	printf("250 after DATA: median=%.3fms p99=%.3fms max=%.3fms\n",
	    lat_us[n / 2] / 1000.0, lat_us[(n * 99) / 100] / 1000.0,
	    lat_us[n - 1] / 1000.0);
}

int
main(int argc, char **argv)
{
	pthread_t *th;
	double t0, t;
	int ch, i, idle_n = 0, hold = 5;

	while ((ch = getopt(argc, argv, "h:p:c:n:s:r:i:H:")) != -1) {
		switch (ch) {
		case 'h': host = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'c': sessions = atoi(optarg); break;
		case 'n': total = atol(optarg); break;
		case 's': size = atoi(optarg); break;
		case 'r': rcpt = optarg; break;
		case 'i': idle_n = atoi(optarg); break;
		case 'H': hold = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: smtpload [-h host] [-p port] [-c sessions] "
			    "[-n messages] [-s size] [-r rcpt] [-i idle -H seconds]\n");
			return 2;
		}
	}
	if (idle_n > 0)
		return idle(idle_n, hold);
	make_body();
	lat_us = calloc((size_t)total + 1, sizeof(*lat_us));
	th = calloc((size_t)sessions, sizeof(*th));
	t0 = now_s();
	for (i = 0; i < sessions; i++)
		pthread_create(&th[i], NULL, sender, NULL);
	for (i = 0; i < sessions; i++)
		pthread_join(th[i], NULL);
	t = now_s() - t0;
	printf("sessions=%d messages=%ld failed=%ld seconds=%.2f rate=%.0f/s\n",
	    sessions, (long)sent, (long)failed, t, (double)sent / t);
	report_latency();
	return failed ? 1 : 0;
}
