/* Small pure helpers on text: UTF-8, subject tokens, bounded copies.
 * No allocation failure is survivable in the daemons: see xmalloc below. */
#ifndef ORCH_TEXT_H
#define ORCH_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Out-of-memory policy (docs/architecture.md): a daemon that cannot allocate
 * logs one line and aborts; its supervisor restarts it, and JetStream
 * redelivers whatever it had not acked, so nothing is lost. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Returns 1 when buf[0..len) is valid UTF-8 (no overlongs, no surrogates, no
 * NUL); otherwise 0 and the byte offset of the first bad byte in *bad_at. */
int text_utf8_valid(const char *buf, size_t len, size_t *bad_at);

/* The length of the valid UTF-8 character at buf[0..len), 1 to 4; 0 when
 * there is none there (a bad or cut sequence, a NUL, len 0). */
size_t text_utf8_char(const char *buf, size_t len);

/* The length of the longest prefix of buf[0..len) of at most max bytes
 * that does not end inside a character: where to cut text that must stay
 * UTF-8. */
size_t text_utf8_prefix(const char *buf, size_t len, size_t max);

/* Replaces, in place, each byte of s that is not part of a valid UTF-8
 * character with '?', so the string decodes strictly (the length does not
 * change). Returns how many were replaced. */
size_t text_utf8_repair(char *s);

/* Returns 1 when buf[0..len) holds no control character: none of U+0000..
 * U+001F nor U+007F, except tab, newline and carriage return when
 * allow_space is set. Otherwise 0 and the offset of the first in *at. JSON
 * writes each of these as a six-byte \u escape, so a field of them grows
 * sixfold on its way out. */
int text_controls_free(const char *buf, size_t len, int allow_space, size_t *at);

/* Returns 1 when s is a safe subject token for an id: 1..max_len characters
 * from [A-Za-z0-9_-]. Otherwise 0, with the reason in err (if not NULL). */
int text_id_valid(const char *s, size_t max_len, char *err, size_t errlen);

/* A file path of the project in one spelling, in place: "./src//x/../a.c"
 * and "/src/a.c" are "src/a.c" ("." and empty segments dropped, ".." taking
 * the segment before it, a leading "/" meaning the project's root); a
 * trailing "/" (a directory) is kept. Returns 0, or -1 with the reason in
 * err when the path leaves the project ("../x", "a/../../x") or names no
 * file ("", ".", "/"). So two spellings of one file are one file for the
 * overlap rule and in prompts. */
int text_path_normalise(char *path, char *err, size_t errlen);

/* A copy of s (NUL-terminated) that is safe to print on a terminal: C0
 * control characters other than tab and newline, DEL, and the C1 controls
 * (U+0080..U+009F, which terminals may obey as escape sequences) are
 * written as \x1b or \u009b; everything else is as it was. The caller
 * frees it; s NULL gives "". */
char *text_printable(const char *s);

/* Case-insensitive ASCII equality. */
int text_ieq(const char *a, const char *b);

/* Milliseconds since the Unix epoch from the realtime clock (adapters only). */
int64_t text_now_ms(void);

/* Monotonic milliseconds (adapters only). */
int64_t text_mono_ms(void);

#endif
