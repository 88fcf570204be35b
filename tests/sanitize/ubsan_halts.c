/* ubsan_halts — the sanitizer builds (tests under ASan+UBSan, the fuzzers) must stop at the first
 * undefined behaviour.  With UBSan's default "recover" mode a report is printed and the program goes
 * on: a fuzzer then counts the input as fine and keeps nothing, and a test passes.  This program
 * commits a signed overflow in a child and asserts the child died there; it runs with
 * UBSAN_OPTIONS=halt_on_error=0 so that only the build flag (-fno-sanitize-recover=undefined, set
 * in meson.build whenever UBSan is on) can make it pass. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int overflow(int x)
{
    return x * 1000000; /* x comes from argv: the compiler cannot fold it */
}

int main(int argc, char **argv)
{
    (void)argv;
    int fds[2];
    if (pipe(fds) != 0) return perror("pipe"), 2;
    pid_t pid = fork();
    if (pid < 0) return perror("fork"), 2;
    if (pid == 0) {
        close(fds[0]);
        volatile int r = overflow(argc * 1000000); /* 10^12 does not fit in an int */
        (void)r;
        if (write(fds[1], "survived", 8) != 8) _exit(3);
        _exit(0);
    }
    close(fds[1]);
    char buf[8];
    ssize_t got = read(fds[0], buf, sizeof buf);
    int st;
    if (waitpid(pid, &st, 0) != pid) return perror("waitpid"), 2;
    if (got > 0 || (WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        fprintf(stderr, "ubsan_halts: the child went on after a signed overflow: UBSan recovers "
                        "(build without -fno-sanitize-recover=undefined)\n");
        puts("ubsan-halts: 0 passed, 1 failed");
        return 1;
    }
    puts("ubsan-halts: 1 passed, 0 failed");
    return 0;
}
