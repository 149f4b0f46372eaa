/* SPDX-License-Identifier: ISC */
/* RFC 5322 dates: see maildate.h. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "maildate.h"

void
mail_date(int64_t t, char *out, size_t outlen)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;

	if (outlen == 0)
		return;
	/* By hand: strftime's names follow the locale. */
	if ((int64_t)tt != t || gmtime_r(&tt, &tm) == NULL) {
		snprintf(out, outlen, "%s", "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	snprintf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    wd[tm.tm_wday % 7], tm.tm_mday, mon[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
