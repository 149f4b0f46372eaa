/* SPDX-License-Identifier: ISC */
/* ULIDs: 48-bit Unix time in ms + 80 random bits, written as 26 Crockford
 * base32 characters, so that ids sort by creation time as strings. Ids
 * made by one process within the same millisecond (or while the clock
 * steps back) reuse the last timestamp and increment the random part, so
 * they still strictly increase. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "ulid.h"

static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static uint64_t last_ms;
static uint8_t  last_rand[10];
static pid_t    last_pid;

static void
fill_random(uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = getrandom(buf, len, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatal("getrandom");
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* Add one to the 80-bit big-endian counter; true on wrap-around. */
static int
incr_random(uint8_t r[10])
{
	int i;

	for (i = 9; i >= 0; i--)
		if (++r[i] != 0)
			return 0;
	return 1;
}

void
ulid_new(char out[27])
{
	struct timespec ts;
	uint64_t ms;
	uint8_t v[16];
	int i, bit;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000) &
	    0xffffffffffffULL;
	/* A child forked without exec must not continue its parent's
	 * sequence: both would produce the same ids. */
	if (getpid() != last_pid) {
		last_pid = getpid();
		last_ms = 0;
	}
	if (ms > last_ms) {
		last_ms = ms;
		fill_random(last_rand, sizeof(last_rand));
	} else if (incr_random(last_rand)) {
		/* 2^80 ids in one ms cannot happen; stay ordered anyway. */
		last_ms++;
		fill_random(last_rand, sizeof(last_rand));
	}

	for (i = 0; i < 6; i++)
		v[i] = (uint8_t)(last_ms >> (8 * (5 - i)));
	memcpy(v + 6, last_rand, sizeof(last_rand));

	/* 26 * 5 = 130 bits: the value is preceded by two zero bits. */
	for (i = 0; i < 26; i++) {
		unsigned idx = 0;
		int k;

		for (k = 0; k < 5; k++) {
			bit = i * 5 + k - 2;
			idx <<= 1;
			if (bit >= 0)
				idx |= (v[bit / 8] >> (7 - bit % 8)) & 1;
		}
		out[i] = b32[idx];
	}
	out[26] = '\0';
}

int
ulid_valid(const char *s)
{
	size_t i;

	if (s == NULL || strnlen(s, 27) != 26)
		return 0;
	if (s[0] < '0' || s[0] > '7')
		return 0;
	for (i = 0; i < 26; i++)
		if (s[i] == '\0' || strchr(b32, s[i]) == NULL)
			return 0;
	return 1;
}
