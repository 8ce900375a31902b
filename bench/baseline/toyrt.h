/*
 * toyrt: the lgcraft toy behavior runtime. Portable C99, no dynamic allocation.
 *
 * It executes a program compiled by `lgcraft toys compile` (format: docs/toys-format.md)
 * straight from flash. The firmware calls toyrt_event() for each sensor event and
 * toyrt_advance() from its tick, and receives every action through the emit callback.
 * Semantics (timers, dispatch order, random numbers) match lgcraft's Python simulator
 * exactly; lgcraft's tests compare both on random traces.
 *
 * Size the runtime for one program by defining TOYRT_MAX_SLOTS, TOYRT_MAX_VARS and
 * TOYRT_MAX_STACK before including this header (the generated header does).
 */
#ifndef TOYRT_H
#define TOYRT_H

#include <stdint.h>

#ifndef TOYRT_MAX_SLOTS
#define TOYRT_MAX_SLOTS 32 /* timers armed at once (at most 32) */
#endif
#ifndef TOYRT_MAX_VARS
#define TOYRT_MAX_VARS 64
#endif
#ifndef TOYRT_MAX_STACK
#define TOYRT_MAX_STACK 16 /* expression evaluation depth */
#endif
#define TOYRT_QUEUE 8          /* internal (raised) events */
#define TOYRT_MAX_INTERNAL 16  /* internal events handled per trigger */
#define TOYRT_MAX_DEPTH 16     /* state nesting */
#define TOYRT_NONE 0xFFu

/* Action codes passed to the emit callback (also the log's words). */
enum toyrt_op {
    TOYRT_ENTER = 1, TOYRT_EXIT, TOYRT_PLAY, TOYRT_SPEAK, TOYRT_LED, TOYRT_MOTOR,
    TOYRT_RECORD, TOYRT_UPLOAD, TOYRT_DELETE, TOYRT_LISTEN, TOYRT_SET, TOYRT_RAISE,
    TOYRT_DROP, TOYRT_RANDOM, TOYRT_UTILITY
};

/* Errors returned by toyrt_init(). */
enum toyrt_error {
    TOYRT_OK = 0, TOYRT_E_SIZE = -1, TOYRT_E_MAGIC = -2, TOYRT_E_VERSION = -3,
    TOYRT_E_CHECKSUM = -4, TOYRT_E_CAPACITY = -5
};

/* op, time in ms, up to 4 integer arguments (see docs/toys-format.md for each op). */
typedef void (*toyrt_emit_fn)(void *user, uint32_t t, uint8_t op, const int32_t *args, uint8_t nargs);

typedef struct toyrt {
    const uint8_t *prog;
    toyrt_emit_fn emit;
    void *user;
    uint32_t now;
    uint32_t rng;
    uint32_t active;                     /* bit i: slot i armed */
    uint32_t deadline[TOYRT_MAX_SLOTS];
    int16_t vars[TOYRT_MAX_VARS];
    uint8_t leaf;
    uint8_t listen;
    uint8_t qlen;
    uint8_t queue[TOYRT_QUEUE];
} toyrt_t;

/* Verify the image (magic, version, size, CRC-32, capacity) and reset. */
int toyrt_init(toyrt_t *rt, const uint8_t *prog, uint32_t len, uint32_t seed,
               toyrt_emit_fn emit, void *user);
/* Enter the initial states at time t. */
void toyrt_start(toyrt_t *rt, uint32_t t);
/* Fire the timers due at or before t. */
void toyrt_advance(toyrt_t *rt, uint32_t t);
/* Advance to t, then dispatch event ev. Returns 1 if a transition was taken. */
int toyrt_event(toyrt_t *rt, uint32_t t, uint8_t ev);
/* The earliest armed deadline (for sleeping); returns 0 when no timer is armed. */
int toyrt_next_deadline(const toyrt_t *rt, uint32_t *deadline);

uint32_t toyrt_crc32(const uint8_t *data, uint32_t len);

#endif /* TOYRT_H */
