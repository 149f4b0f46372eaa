/* SPDX-License-Identifier: ISC */
/* The plugin registries of smtpd, queued and deliverd, as the master
 * relays them (M_PLUGINS: it checked them; ctld checks again, since the
 * master's channel is a boundary too), and `plugin list`, answered from
 * them. The last valid report of each daemon is kept as it came. */
#include <stdlib.h>
#include <string.h>

#include "ctld.h"
#include "log.h"
#include "util.h"
#include "wire_ctl.h"

static struct {
	uint8_t *data;
	size_t   len;
} last[PROC_COUNT];

void
plugin_table_update(const struct chan_msg *m)
{
	static struct wire_plugins w;

	if (wire_plugins_decode(m, &w) == -1 || w.proc == PROC_MASTER ||
	    w.proc == PROC_CTLD) {
		log_warnx("M_PLUGINS: malformed report ignored");
		return;
	}
	free(last[w.proc].data);
	last[w.proc].data = xmalloc(m->len > 0 ? m->len : 1);
	memcpy(last[w.proc].data, m->data, m->len);
	last[w.proc].len = m->len;
}

bool
plugin_table_fill(struct wire_plugin_list *out)
{
	static struct wire_plugins w[PROC_COUNT];
	struct chan_msg m;
	bool any = false;
	uint32_t k;
	int p;

	out->n = 0;
	for (p = 0; p < PROC_COUNT; p++) {
		if (last[p].data == NULL)
			continue;
		memset(&m, 0, sizeof(m));
		m.fd = -1;
		m.data = last[p].data;
		m.len = last[p].len;
		if (wire_plugins_decode(&m, &w[p]) == -1)
			continue;
		any = true;
		for (k = 0; k < w[p].n && out->n < WIRE_PLUGIN_ROWS; k++) {
			out->row[out->n] = w[p].row[k];
			out->row[out->n].daemon = proc_name((enum proc_id)p);
			out->n++;
		}
	}
	return any;
}

void
cmd_plugin_list(struct ctl_client *c, const struct ctl_cmd *cmd,
    const char *name, const struct chan_msg *m)
{
	static struct wire_plugin_list w;
	struct msgbuf mb;

	(void)plugin_table_fill(&w);
	mb_init(&mb);
	if (wire_plugin_list_encode(&mb, &w) == -1 || mb.err) {
		ctl_error(c, m->peerid, "internal error");
		ctl_audit(c, name, "error");
	} else {
		ctl_send(c, cmd->reply, m->peerid, mb.data, mb.len);
		ctl_audit(c, name, "ok");
	}
	mb_free(&mb);
}
