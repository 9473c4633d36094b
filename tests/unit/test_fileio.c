/* Unit tests of the bounded whole-file reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileio.h"

/* A scratch directory per run, removed at the end. */
static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/test_fileio.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    static const char *made[] = {"empty", "small", "at", "over", "z", "z1", "n"};
    char path[128];
    (void)state;
    for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, made[i]);
        unlink(path);
    }
    return rmdir(dir);
}

/* Writes n bytes of 'x' (or the given text) to dir/name; returns the path. */
static const char *put(const char *name, const char *text, size_t n)
{
    static char path[128];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        fputc(text ? text[i] : 'x', f);
    assert_int_equal(fclose(f), 0);
    return path;
}

static void empty_file_reads_as_empty_text(void **state)
{
    char err[ERR_LEN] = "", *out = NULL;
    size_t len = 99;
    (void)state;
    assert_int_equal(fileio_read(put("empty", NULL, 0), 16, &out, &len, err), ORCH_OK);
    assert_non_null(out);
    assert_int_equal(len, 0);
    assert_string_equal(out, "");
    free(out);
}

static void text_comes_back_whole_and_terminated(void **state)
{
    char err[ERR_LEN] = "", *out = NULL;
    size_t len = 0;
    (void)state;
    assert_int_equal(fileio_read(put("small", "a\0b{}", 5), 1 << 20, &out, &len, err), ORCH_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(out, "a\0b{}", 6);
    free(out);
}

static void a_file_exactly_at_the_limit_is_read(void **state)
{
    /* Both under and over the first allocation, so the growth is crossed. */
    size_t sizes[] = {1, 100, 4096, 4097, 10000};
    (void)state;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char err[ERR_LEN] = "", *out = NULL;
        size_t len = 0;
        assert_int_equal(fileio_read(put("at", NULL, sizes[i]), sizes[i], &out, &len, err), ORCH_OK);
        assert_int_equal(len, sizes[i]);
        assert_int_equal(out[len], '\0');
        assert_int_equal(out[len - 1], 'x');
        free(out);
    }
}

static void one_byte_over_the_limit_is_refused_naming_file_and_limit(void **state)
{
    size_t sizes[] = {1, 100, 4096, 4097, 10000};
    (void)state;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char err[ERR_LEN] = "", *out = (char *)"untouched", want[32];
        size_t len = 7;
        const char *path = put("over", NULL, sizes[i] + 1);
        assert_int_equal(fileio_read(path, sizes[i], &out, &len, err), ORCH_ERR_TOO_BIG);
        assert_null(out);
        assert_int_equal(len, 0);
        assert_non_null(strstr(err, path));
        snprintf(want, sizeof(want), "%zu bytes", sizes[i]);
        assert_non_null(strstr(err, want));
    }
}

static void a_limit_of_zero_takes_only_empty_files(void **state)
{
    char err[ERR_LEN] = "", *out = NULL;
    (void)state;
    assert_int_equal(fileio_read(put("z", NULL, 0), 0, &out, NULL, err), ORCH_OK);
    assert_string_equal(out, "");
    free(out);
    assert_int_equal(fileio_read(put("z1", NULL, 1), 0, &out, NULL, err), ORCH_ERR_TOO_BIG);
    assert_null(out);
}

static void a_missing_file_is_not_found(void **state)
{
    char err[ERR_LEN] = "", *out = NULL, path[128];
    size_t len = 3;
    (void)state;
    snprintf(path, sizeof(path), "%s/nothing-here", dir);
    assert_int_equal(fileio_read(path, 100, &out, &len, err), ORCH_ERR_NOT_FOUND);
    assert_null(out);
    assert_int_equal(len, 0);
    assert_non_null(strstr(err, path));
}

static void a_directory_is_refused(void **state)
{
    char err[ERR_LEN] = "", *out = NULL;
    (void)state;
    assert_int_equal(fileio_read(dir, 100, &out, NULL, err), ORCH_ERR_IO);
    assert_null(out);
    assert_non_null(strstr(err, dir));
    assert_non_null(strstr(err, "directory"));
}

static void a_stream_is_read_to_its_end(void **state)
{
    char err[ERR_LEN] = "", *out = NULL;
    size_t len = 0;
    FILE *f = tmpfile();
    (void)state;
    assert_non_null(f);
    fputs("{\"a\":1}", f);
    rewind(f);
    assert_int_equal(fileio_read_stream(f, "-", 7, &out, &len, err), ORCH_OK);
    assert_string_equal(out, "{\"a\":1}");
    free(out);
    rewind(f);
    assert_int_equal(fileio_read_stream(f, "stdin", 6, &out, &len, err), ORCH_ERR_TOO_BIG);
    assert_non_null(strstr(err, "stdin"));
    fclose(f);
}

static void null_arguments_are_refused(void **state)
{
    char err[ERR_LEN] = "", *out = NULL;
    (void)state;
    assert_int_equal(fileio_read(NULL, 10, &out, NULL, err), ORCH_ERR_INVALID);
    assert_int_equal(fileio_read(put("n", NULL, 1), 10, NULL, NULL, err), ORCH_ERR_INVALID);
    assert_int_equal(fileio_read_stream(NULL, "x", 10, &out, NULL, err), ORCH_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_file_reads_as_empty_text),
        cmocka_unit_test(text_comes_back_whole_and_terminated),
        cmocka_unit_test(a_file_exactly_at_the_limit_is_read),
        cmocka_unit_test(one_byte_over_the_limit_is_refused_naming_file_and_limit),
        cmocka_unit_test(a_limit_of_zero_takes_only_empty_files),
        cmocka_unit_test(a_missing_file_is_not_found),
        cmocka_unit_test(a_directory_is_refused),
        cmocka_unit_test(a_stream_is_read_to_its_end),
        cmocka_unit_test(null_arguments_are_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
