/* SPDX-License-Identifier: ISC */
/* A shared object without a descriptor. */
int nodesc_answer(void);

int
nodesc_answer(void)
{
	return 42;
}
