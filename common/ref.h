/* Is a git ref from a message safe to hand to git? Pure.
 *
 * Accepted: a full commit id (40 or 64 hex digits), or a ref name following
 * git's check-ref-format rules: no component starting with '.' or ending in
 * ".lock", no "..", no "@{", not "@", no ASCII control characters, space,
 * '~', '^', ':', '?', '*', '[', '\\', no trailing '/' or '.', no "//";
 * and in addition nothing starting with '-' (it would read as an option),
 * at most 255 bytes. Refused refs never reach git. */
#ifndef ORCH_REF_H
#define ORCH_REF_H

#include <stddef.h>

/* 1 when ref is acceptable; else 0 and why in buf. */
int ref_valid(const char *ref, char *why, size_t len);

#endif
