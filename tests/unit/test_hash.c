/* Unit tests of FNV-1a 64 against the published test vectors
 * (http://www.isthe.com/chongo/tech/comp/fnv/, test_fnv.c, fnv1a_64). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hash.h"

static const struct {
    const char *s;
    size_t len;
    uint64_t h;
} vectors[] = {
    {"", 0, 0xcbf29ce484222325ULL},
    {"a", 1, 0xaf63dc4c8601ec8cULL},
    {"b", 1, 0xaf63df4c8601f1a5ULL},
    {"c", 1, 0xaf63de4c8601eff2ULL},
    {"fo", 2, 0x08985907b541d342ULL},
    {"foo", 3, 0xdcb27518fed9d577ULL},
    {"foob", 4, 0xdd120e790c2512afULL},
    {"fooba", 5, 0xcac165afa2fef40aULL},
    {"foobar", 6, 0x85944171f73967e8ULL},
    {"\0", 1, 0xaf63bd4c8601b7dfULL},
    {"a\0", 2, 0x089be207b544f1e4ULL},
    {"foobar\0", 7, 0x34531ca7168b8f38ULL},
};

static void the_offset_basis_is_the_published_one(void **state)
{
    (void)state;
    assert_true(HASH_FNV1A64_INIT == 14695981039346656037ULL);
    assert_true(HASH_FNV1A64_INIT == 0xcbf29ce484222325ULL);
    assert_true(HASH_FNV1A64_PRIME == 0x100000001b3ULL);
    assert_true(hash_fnv1a64(NULL, 0) == HASH_FNV1A64_INIT);
}

static void published_vectors_hash_as_published(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        assert_true(hash_fnv1a64(vectors[i].s, vectors[i].len) == vectors[i].h);
        if (vectors[i].len == strlen(vectors[i].s))
            assert_true(hash_fnv1a64_str(HASH_FNV1A64_INIT, vectors[i].s) == vectors[i].h);
    }
}

static void continuing_from_a_state_equals_hashing_the_whole(void **state)
{
    uint64_t h;
    (void)state;
    h = hash_fnv1a64_more(HASH_FNV1A64_INIT, "foo", 3);
    assert_true(hash_fnv1a64_more(h, "bar", 3) == 0x85944171f73967e8ULL);
    assert_true(hash_fnv1a64_str(hash_fnv1a64_str(HASH_FNV1A64_INIT, "foo"), "bar") == 0x85944171f73967e8ULL);
    h = HASH_FNV1A64_INIT;
    for (const char *p = "foobar"; *p; p++)
        h = hash_fnv1a64_byte(h, (unsigned char)*p);
    assert_true(h == 0x85944171f73967e8ULL);
    assert_true(hash_fnv1a64_more(12345, "", 0) == 12345);
    assert_true(hash_fnv1a64_str(12345, NULL) == 12345);
}

static void high_bytes_are_taken_unsigned(void **state)
{
    /* A signed char would sign-extend 0xff into the XOR. */
    const char s[] = "\xff";
    (void)state;
    assert_true(hash_fnv1a64(s, 1) == hash_fnv1a64_str(HASH_FNV1A64_INIT, s));
    assert_true(hash_fnv1a64(s, 1) == ((HASH_FNV1A64_INIT ^ 0xffULL) * HASH_FNV1A64_PRIME));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_offset_basis_is_the_published_one),
        cmocka_unit_test(published_vectors_hash_as_published),
        cmocka_unit_test(continuing_from_a_state_equals_hashing_the_whole),
        cmocka_unit_test(high_bytes_are_taken_unsigned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
