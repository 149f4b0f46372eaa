/* SPDX-License-Identifier: ISC */
/* An object named like the descriptor that is none: an int. */
__attribute__((visibility("default"))) const unsigned int empath_plugin = 1;
