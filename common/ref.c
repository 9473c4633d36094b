#include "ref.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static int all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

int ref_valid(const char *ref, char *why, size_t len)
{
    size_t n = strlen(ref);
    const char *comp = ref;

#define NO(...) do { if (why) snprintf(why, len, __VA_ARGS__); return 0; } while (0)
    if (n == 0)
        NO("ref is empty");
    if (n > 255)
        NO("ref is %zu bytes long (at most 255)", n);
    if ((n == 40 || n == 64) && all_hex(ref, n))
        return 1;
    if (ref[0] == '-')
        NO("ref starts with '-'");
    if (!strcmp(ref, "@"))
        NO("ref is '@'");
    if (strstr(ref, ".."))
        NO("ref contains '..'");
    if (strstr(ref, "@{"))
        NO("ref contains '@{'");
    if (strstr(ref, "//"))
        NO("ref contains '//'");
    if (ref[n - 1] == '/' || ref[n - 1] == '.')
        NO("ref ends with '%c'", ref[n - 1]);
    if (ref[0] == '/')
        NO("ref starts with '/'");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)ref[i];
        if (c < 0x20 || c == 0x7f || c == ' ' || c == '~' || c == '^' || c == ':' || c == '?' || c == '*' ||
            c == '[' || c == '\\')
            NO("ref contains a forbidden character (0x%02x) at %zu", c, i);
    }
    for (;;) {
        const char *slash = strchr(comp, '/');
        size_t cl = slash ? (size_t)(slash - comp) : strlen(comp);
        if (cl > 0 && comp[0] == '.')
            NO("a ref component starts with '.'");
        if (cl >= 5 && !strncmp(comp + cl - 5, ".lock", 5))
            NO("a ref component ends with '.lock'");
        if (!slash)
            break;
        comp = slash + 1;
    }
    return 1;
#undef NO
}
