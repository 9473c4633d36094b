/* Reading a whole file with a size limit.
 *
 * Every program of the suite reads small files whole: configs, a roadmap, a
 * CLI's result file, a request body. Each read has a limit, and a file over
 * it is refused with an error naming the file and the limit: nothing is ever
 * cut silently, since half a JSON document or half a log reads as something
 * else. The text comes back NUL-terminated, so it can be parsed as a string;
 * len says how many bytes were read (the text may itself hold NUL bytes).
 *
 * Pure: no NATS, no clock, no logging. Allocation goes through xmalloc. */
#ifndef ORCH_FILEIO_H
#define ORCH_FILEIO_H

#include <stddef.h>
#include <stdio.h>

#include "status.h"

/* Reads the file at path whole, at most limit bytes. On ORCH_OK, *out is a
 * malloc'd NUL-terminated buffer the caller frees and *len (when len is not
 * NULL) its length without the terminator; an empty file gives "" and 0.
 * On failure *out is NULL, *len is 0 and err starts with the file's name
 * ("PATH: cannot open: No such file or directory"), so a caller can put its
 * own context in front ("config PATH: ..."):
 *   ORCH_ERR_NOT_FOUND  no such file;
 *   ORCH_ERR_TOO_BIG    the file holds more than limit bytes (err names the limit);
 *   ORCH_ERR_IO         any other open or read error, a directory among them;
 *   ORCH_ERR_INVALID    path or out is NULL. */
orch_status fileio_read(const char *path, size_t limit, char **out, size_t *len,
                        char err[ERR_LEN]);

/* The same from an open stream, read to its end (standard input, a pipe);
 * name is only used in err. The stream is not closed. */
orch_status fileio_read_stream(FILE *f, const char *name, size_t limit, char **out,
                               size_t *len, char err[ERR_LEN]);

#endif
