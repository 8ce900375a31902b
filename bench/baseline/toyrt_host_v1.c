/* Host driver for tests: toyrt_host PROGRAM.bin SEED < trace, one "t event" per line
 * (event -1: only advance the clock). Prints the action log, one "t op args" per line.
 * toyrt_host --sizeof prints sizeof(toyrt_t).
 * toyrt_host --bench PROGRAM.bin SEED < trace reads the whole trace first, then times
 * only the runtime (actions counted, not printed): "events actions seconds". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "toyrt.h"

#define BENCH_MAX 2000000
static uint32_t bench_t[BENCH_MAX];
static long bench_ev[BENCH_MAX];
static unsigned long bench_actions;

static void count_action(void *user, uint32_t t, uint8_t op, const int32_t *args, uint8_t nargs) {
    (void)user; (void)t; (void)op; (void)args; (void)nargs;
    bench_actions++;
}

static const char *const NAMES[] = {"?", "enter", "exit", "play", "speak", "led", "motor", "record",
                                    "upload", "delete", "listen", "set", "raise", "drop", "random", "utility"};

static void print_action(void *user, uint32_t t, uint8_t op, const int32_t *args, uint8_t nargs) {
    uint8_t i;
    (void)user;
    printf("%lu %s", (unsigned long)t, NAMES[op]);
    for (i = 0; i < nargs; i++) printf(" %ld", (long)args[i]);
    putchar('\n');
}

static uint8_t image[65536];

int main(int argc, char **argv) {
    static toyrt_t rt;
    FILE *f;
    size_t len;
    long t, ev;
    int rc;
    if (argc == 2 && strcmp(argv[1], "--sizeof") == 0) {
        printf("%lu\n", (unsigned long)sizeof(toyrt_t));
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "--bench") == 0) {
        long n = 0, i;
        clock_t start;
        double seconds;
        f = fopen(argv[2], "rb");
        if (!f) { perror(argv[2]); return 2; }
        len = fread(image, 1, sizeof image, f);
        fclose(f);
        while (n < BENCH_MAX && scanf("%ld %ld", &t, &ev) == 2) { bench_t[n] = (uint32_t)t; bench_ev[n] = ev; n++; }
        rc = toyrt_init(&rt, image, (uint32_t)len, (uint32_t)strtoul(argv[3], NULL, 10), count_action, NULL);
        if (rc != TOYRT_OK) { fprintf(stderr, "toyrt_init failed: %d\n", rc); return 3; }
        start = clock();
        toyrt_start(&rt, 0);
        for (i = 0; i < n; i++) {
            if (bench_ev[i] < 0) toyrt_advance(&rt, bench_t[i]);
            else toyrt_event(&rt, bench_t[i], (uint8_t)bench_ev[i]);
        }
        seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
        printf("%ld %lu %.6f\n", n, bench_actions, seconds);
        return 0;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: toyrt_host PROGRAM.bin SEED < TRACE\n");
        return 2;
    }
    f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 2; }
    len = fread(image, 1, sizeof image, f);
    fclose(f);
    rc = toyrt_init(&rt, image, (uint32_t)len, (uint32_t)strtoul(argv[2], NULL, 10), print_action, NULL);
    if (rc != TOYRT_OK) { fprintf(stderr, "toyrt_init failed: %d\n", rc); return 3; }
    toyrt_start(&rt, 0);
    while (scanf("%ld %ld", &t, &ev) == 2) {
        if (ev < 0) toyrt_advance(&rt, (uint32_t)t);
        else toyrt_event(&rt, (uint32_t)t, (uint8_t)ev);
    }
    return 0;
}
