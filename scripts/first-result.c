/*
 * first-result: times a program from its start to the first line it prints that begins with a marker, over many runs.
 *
 *   first-result RUNS MARKER PROGRAM [ARGS...]
 *
 * Each run: clock_gettime(CLOCK_MONOTONIC), posix_spawn the program with its standard output on a pipe, read the
 * pipe until a line starting with MARKER arrives (the "first result"), read on to the end, wait4 for the exit. A shell
 * loop with `date +%s%N` around each run would add two forks and execs of date to every figure; this adds only the
 * parent's spawn. Prints, in microseconds, the median and minimum time to the marker and to the exit, and the
 * largest peak RSS of any run (wait4's ru_maxrss, which /usr/bin/time -f %M also prints), in KiB. Fails (exit 1) if
 * a run exits non-zero or never prints the marker. Used by scripts/measure-embedded.sh.
 */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: first-result RUNS MARKER PROGRAM [ARGS...]\n");
        return 2;
    }
    int runs = atoi(argv[1]);
    const char *marker = argv[2];
    size_t marker_length = strlen(marker);
    double *first = calloc(runs, sizeof *first), *exit_time = calloc(runs, sizeof *exit_time);
    long max_rss = 0;
    for (int r = 0; r < runs; r++) {
        int out[2];
        if (pipe(out) != 0) { perror("pipe"); return 1; }
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, out[1], 1);
        posix_spawn_file_actions_addclose(&actions, out[0]);
        posix_spawn_file_actions_addclose(&actions, out[1]);
        pid_t pid;
        double start = now_us();
        if (posix_spawn(&pid, argv[3], &actions, NULL, argv + 3, environ) != 0) { perror(argv[3]); return 1; }
        close(out[1]);
        posix_spawn_file_actions_destroy(&actions);

        // Lines are matched as they arrive; a line split across reads is kept whole in `line`.
        char buffer[4096], line[4096];
        size_t line_length = 0;
        double found = -1;
        ssize_t n;
        while ((n = read(out[0], buffer, sizeof buffer)) > 0) {
            for (ssize_t i = 0; i < n; i++) {
                char c = buffer[i];
                if (found < 0 && line_length == marker_length && memcmp(line, marker, marker_length) == 0)
                    found = now_us();
                if (c == '\n') line_length = 0;
                else if (line_length < sizeof line) line[line_length++] = c;
            }
            if (found < 0 && line_length >= marker_length && memcmp(line, marker, marker_length) == 0) found = now_us();
        }
        close(out[0]);
        int status;
        struct rusage usage;
        if (wait4(pid, &status, 0, &usage) != pid) { perror("wait4"); return 1; }
        double end = now_us();
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "first-result: %s exited with status %d\n", argv[3], status);
            return 1;
        }
        if (found < 0) {
            fprintf(stderr, "first-result: %s never printed a line starting with '%s'\n", argv[3], marker);
            return 1;
        }
        first[r] = found - start;
        exit_time[r] = end - start;
        if (usage.ru_maxrss > max_rss) max_rss = usage.ru_maxrss;
    }
    qsort(first, runs, sizeof *first, by_value);
    qsort(exit_time, runs, sizeof *exit_time, by_value);
    printf("runs %d first_median_us %.0f first_min_us %.0f exit_median_us %.0f exit_min_us %.0f max_rss_kib %ld\n",
           runs, first[runs / 2], first[0], exit_time[runs / 2], exit_time[0], max_rss);
    return 0;
}
