/* Host driver for tests: toyrt_host [--key HEX] PROGRAM.bin SEED < trace, one "t event"
 * per line (event -1: only advance the clock; times wrap at 2^32 like a real tick).
 * Prints the action log, one "t op args" per line. With --key (the trusted Ed25519
 * public key, 64 hex digits) the image must be signed by it (toyrt_init_signed).
 * toyrt_host --sizeof prints sizeof(toyrt_t).
 * toyrt_host --load-bench PROGRAM.bin N validates the image N times: "microseconds per load".
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

static int parse_key(const char *hex, uint8_t key[32]) {
    int i;
    if (strlen(hex) != 64) return 0;
    for (i = 0; i < 32; i++) {
        unsigned value;
        if (sscanf(hex + 2 * i, "%2x", &value) != 1) return 0;
        key[i] = (uint8_t)value;
    }
    return 1;
}

int main(int argc, char **argv) {
    static toyrt_t rt;
    FILE *f;
    size_t len;
    long long t;
    long ev;
    int rc;
    uint8_t key[32];
    int keyed = 0;
    if (argc == 2 && strcmp(argv[1], "--sizeof") == 0) {
        printf("%lu\n", (unsigned long)sizeof(toyrt_t));
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "--load-bench") == 0) {
        long n = strtol(argv[3], NULL, 10), i;
        clock_t start;
        f = fopen(argv[2], "rb");
        if (!f) { perror(argv[2]); return 2; }
        len = fread(image, 1, sizeof image, f);
        fclose(f);
        start = clock();
        for (i = 0; i < n; i++) {
            rc = toyrt_validate(image, (uint32_t)len);
            if (rc != TOYRT_OK) { fprintf(stderr, "toyrt_init failed: %d\n", rc); return 3; }
        }
        printf("%.3f\n", 1e6 * (double)(clock() - start) / CLOCKS_PER_SEC / (double)n);
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "--key") == 0) {
        if (!parse_key(argv[2], key)) { fprintf(stderr, "--key needs 64 hex digits\n"); return 2; }
        keyed = 1;
        argv += 2;
        argc -= 2;
    }
    if (argc == 4 && strcmp(argv[1], "--bench") == 0) {
        long n = 0, i;
        clock_t start;
        double seconds;
        f = fopen(argv[2], "rb");
        if (!f) { perror(argv[2]); return 2; }
        len = fread(image, 1, sizeof image, f);
        fclose(f);
        while (n < BENCH_MAX && scanf("%lld %ld", &t, &ev) == 2) { bench_t[n] = (uint32_t)t; bench_ev[n] = ev; n++; }
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
    if (keyed)
        rc = toyrt_init_signed(&rt, image, (uint32_t)len, key, (uint32_t)strtoul(argv[2], NULL, 10), print_action, NULL);
    else
        rc = toyrt_init(&rt, image, (uint32_t)len, (uint32_t)strtoul(argv[2], NULL, 10), print_action, NULL);
    if (rc != TOYRT_OK) { fprintf(stderr, "toyrt_init failed: %d\n", rc); return 3; }
    toyrt_start(&rt, 0);
    while (scanf("%lld %ld", &t, &ev) == 2) {
        /* the tick wraps: pass the low 32 bits, as a firmware's millisecond counter does */
        if (ev < 0) toyrt_advance(&rt, (uint32_t)(t & 0xFFFFFFFFll));
        else toyrt_event(&rt, (uint32_t)(t & 0xFFFFFFFFll), (uint8_t)ev);
    }
    return 0;
}
