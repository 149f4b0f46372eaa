/* SPDX-License-Identifier: ISC */
/* em_log() of <empath/empath.h>: a plugin's line through lib/log.c,
 * prefixed with the name of the plugin being called. The loader names
 * that plugin around each call (plugin.c). */
#ifndef EMPATH_PLUGIN_LOG_H
#define EMPATH_PLUGIN_LOG_H

/* The plugin now running (copied), or NULL once its call returned. */
void plugin_log_enter(const char *name);

#endif
