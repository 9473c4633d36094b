/* A hash map from strings to ints: open addressing, linear probing, keys
 * copied and owned, deletion by tombstone. Pure. */
#ifndef ORCH_STRMAP_H
#define ORCH_STRMAP_H

#include <stddef.h>

typedef struct strmap strmap;

strmap *strmap_create(void);
void strmap_destroy(strmap *m);                 /* NULL-safe */

/* Sets key to value (copying key). */
void strmap_put(strmap *m, const char *key, int value);
/* 1 and *value when key is present, else 0. value may be NULL. */
int strmap_get(const strmap *m, const char *key, int *value);
/* Removes key; 1 when it was there. */
int strmap_del(strmap *m, const char *key);
size_t strmap_count(const strmap *m);

/* Visits every entry; order unspecified. */
void strmap_each(const strmap *m, void (*fn)(const char *key, int value, void *arg), void *arg);

#endif
