/* esc: what attackers type never drives a terminal or a spreadsheet. */
#include "core/esc.h"
#include "testutil.h"

#include <stdlib.h>

static char *term(const char *s)
{
    static char out[256];
    return esc_term(s, out, sizeof out);
}

static void terminal_controls_are_visible(void **state)
{
    (void)state;
    assert_string_equal(term("ls -la /tmp"), "ls -la /tmp");
    assert_string_equal(term("\033[2J\033]0;pwned\007"), "\\e[2J\\e]0;pwned\\x07");
    assert_string_equal(term("\033]8;;http://x\033\\link"), "\\e]8;;http://x\\e\\\\link");
    assert_string_equal(term("a\tb\r\nc\x7f"), "a\\tb\\r\\nc\\x7f");
    assert_string_equal(term("\x01\x1f"), "\\x01\\x1f");
    assert_string_equal(term("\xc2\x9b"
                             "31m"),
                        "\\xc2\\x9b31m"); /* C1 CSI */
    assert_string_equal(term("\xe2\x80\xae"
                             "txt"),
                        "\\xe2\\x80\\xaetxt"); /* RLO */
    assert_string_equal(term("caf\xc3\xa9 \xe6\x97\xa5"),
                        "caf\xc3\xa9 \xe6\x97\xa5"); /* text stays */
    assert_string_equal(term("\xff\xc0\xaf\xed\xa0\x80"), "\\xff\\xc0\\xaf\\xed\\xa0\\x80");
    assert_string_equal(term("\xe6\x97"), "\\xe6\\x97");       /* cut sequence */
    assert_string_equal(term("back\\slash"), "back\\\\slash"); /* escapes cannot be forged */
}

static void terminal_cut_at_whole_escape(void **state)
{
    (void)state;
    char out[6];
    assert_string_equal(esc_term("ab\033cd", out, 5), "ab\\e");
    assert_string_equal(esc_term("ab\033cd", out, 6), "ab\\ec");
    assert_string_equal(esc_term("a\x01", out, 5), "a");
    assert_string_equal(esc_term("\xe6\x97\xa5\xe6\x97\xa5", out, 6), "\xe6\x97\xa5");
}

static char *csv(const char *s)
{
    static char buf[256];
    memset(buf, 0, sizeof buf);
    FILE *f = fmemopen(buf, sizeof buf, "w");
    assert_non_null(f);
    esc_csv(f, s);
    fclose(f);
    return buf;
}

static void csv_formulas_neutralised(void **state)
{
    (void)state;
    assert_string_equal(csv("admin"), "admin");
    assert_string_equal(csv("=HYPERLINK(\"http://x\",\"y\")"),
                        "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
    assert_string_equal(csv("+1"), "\"'+1\"");
    assert_string_equal(csv("-2+3"), "\"'-2+3\"");
    assert_string_equal(csv("@SUM(A1)"), "\"'@SUM(A1)\"");
    assert_string_equal(csv("\tcmd"), "\"'\\tcmd\"");
    assert_string_equal(csv("\rcmd"), "\"'\\rcmd\"");
    assert_string_equal(csv("a,=b"), "\"a,=b\""); /* the comma cannot start a new cell */
    assert_string_equal(csv("line\nbreak"), "line\\nbreak"); /* a row stays one line */
    /* read with cat or less, a cell never drives the terminal */
    assert_string_equal(csv("\033]0;owned\007\302\233"), "\\e]0;owned\\x07\\xc2\\x9b");
    assert_string_equal(csv("=\033[2J"), "\"'=\\e[2J\"");
    assert_string_equal(csv("x=1"), "x=1");
    assert_string_equal(csv(""), "");
}

static void utf8_repaired(void **state)
{
    (void)state;
    char *s = esc_utf8("ok\xff\xc0\xaf\xe6\x97\xa5", 8);
    assert_string_equal(s, "ok\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xe6\x97\xa5");
    free(s);
    s = esc_utf8("a\0b", 3);
    assert_string_equal(s, "a\xef\xbf\xbd"
                           "b");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(terminal_controls_are_visible),
        cmocka_unit_test(terminal_cut_at_whole_escape),
        cmocka_unit_test(csv_formulas_neutralised),
        cmocka_unit_test(utf8_repaired),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
