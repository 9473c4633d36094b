/* libFuzzer: the Markdown roadmap parser, the intake JSON it makes, and the
 * status write-back, which must change nothing but Status values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "roadmap.h"

static const char *same(const char *id, void *arg)
{
    (void)id;
    (void)arg;
    return "Complete";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    roadmap r;
    char err[256];
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    if (roadmap_parse(text, strlen(text), &r, err, sizeof(err)) == 0) {
        int changed = 0;
        char *out = roadmap_with_status(text, strlen(text), &r, same, NULL, &changed);
        free(roadmap_pending_json(&r));
        if (changed == 0 && strcmp(out, text) != 0)
            abort(); /* nothing changed, so the text must be the same */
        free(out);
        roadmap_free(&r);
    }
    free(text);
    return 0;
}
