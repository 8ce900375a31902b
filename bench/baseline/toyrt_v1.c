/* Baseline for bench/toys.py: the runtime before issue 16 (format 1, CRC only, no load-time
 * verification), from commit 4b6ec68, kept to measure the new runtime against. Not shipped. */
/* toyrt: see toyrt.h and docs/toys-format.md. C99, no dynamic allocation. */
#include "toyrt.h"

#define HDR_SIZE 24u
#define STATE_SIZE 12u
#define TRANS_SIZE 6u
#define TIMER_SIZE 10u
#define NO_CODE 0xFFFFu

static uint16_t rd16(const uint8_t *p) { return (uint16_t)((uint16_t)p[0] | ((uint16_t)p[1] << 8)); }
static int16_t rds16(const uint8_t *p) { return (int16_t)rd16(p); }
static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

uint32_t toyrt_crc32(const uint8_t *data, uint32_t len) {
    uint32_t crc = 0xFFFFFFFFu;
    uint32_t i;
    int k;
    for (i = 0; i < len; i++) {
        crc ^= data[i];
        for (k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

/* header fields */
#define N_STATES(rt) ((rt)->prog[12])
#define N_EVENTS(rt) ((rt)->prog[13])
#define N_VARS(rt) ((rt)->prog[14])
#define N_SLOTS(rt) ((rt)->prog[15])
#define MAX_STACK(rt) ((rt)->prog[16])
#define ROOT(rt) ((rt)->prog[17])
#define N_TRANS(rt) rd16((rt)->prog + 18)
#define N_TIMERS(rt) rd16((rt)->prog + 20)
#define CODE(rt) ((rt)->prog + rd16((rt)->prog + 22))

static const uint8_t *events_tab(const toyrt_t *rt) { return rt->prog + HDR_SIZE; }
static const uint8_t *vars_tab(const toyrt_t *rt) { return events_tab(rt) + N_EVENTS(rt); }
static const uint8_t *state_at(const toyrt_t *rt, uint8_t s) {
    return vars_tab(rt) + 6u * N_VARS(rt) + STATE_SIZE * s;
}
static const uint8_t *trans_at(const toyrt_t *rt, uint16_t i) {
    return vars_tab(rt) + 6u * N_VARS(rt) + STATE_SIZE * N_STATES(rt) + TRANS_SIZE * i;
}
static const uint8_t *timer_at(const toyrt_t *rt, uint16_t i) {
    return vars_tab(rt) + 6u * N_VARS(rt) + STATE_SIZE * N_STATES(rt) + TRANS_SIZE * N_TRANS(rt) + TIMER_SIZE * i;
}
#define PARENT(rt, s) (state_at(rt, s)[0])
#define INITIAL(rt, s) (state_at(rt, s)[1])

static void emit(toyrt_t *rt, uint8_t op, int32_t a, int32_t b, int32_t c, int32_t d, uint8_t n) {
    int32_t args[4];
    args[0] = a; args[1] = b; args[2] = c; args[3] = d;
    if (rt->emit) rt->emit(rt->user, rt->now, op, args, n);
}

int toyrt_init(toyrt_t *rt, const uint8_t *prog, uint32_t len, uint32_t seed,
               toyrt_emit_fn emit_fn, void *user) {
    uint8_t i;
    if (len < HDR_SIZE || rd16(prog + 6) != len) return TOYRT_E_SIZE;
    if (prog[0] != 'L' || prog[1] != 'G' || prog[2] != 'T' || prog[3] != 'Y') return TOYRT_E_MAGIC;
    if (prog[4] != 1) return TOYRT_E_VERSION;
    if (toyrt_crc32(prog + 12, len - 12) != rd32(prog + 8)) return TOYRT_E_CHECKSUM;
    if (prog[15] > TOYRT_MAX_SLOTS || prog[15] > 32 || prog[14] > TOYRT_MAX_VARS ||
        prog[16] > TOYRT_MAX_STACK) return TOYRT_E_CAPACITY;
    rt->prog = prog;
    rt->emit = emit_fn;
    rt->user = user;
    rt->now = 0;
    rt->rng = seed ? seed : 0x6D2B79F5u;
    rt->active = 0;
    rt->leaf = TOYRT_NONE;
    rt->listen = 0;
    rt->qlen = 0;
    for (i = 0; i < N_VARS(rt); i++) rt->vars[i] = rds16(vars_tab(rt) + 6u * i + 4);
    return TOYRT_OK;
}

/* ---- expressions: RPN over int32 (no overflow: checked by the compiler) ---- */
static int32_t eval(const toyrt_t *rt, uint16_t off) {
    int32_t stack[TOYRT_MAX_STACK];
    int sp = 0;
    const uint8_t *pc = CODE(rt) + off;
    for (;;) {
        uint8_t op = *pc++;
        int32_t a, b;
        switch (op) {
        case 0x00: return stack[sp - 1];
        case 0x01: stack[sp++] = rds16(pc); pc += 2; continue;
        case 0x02: stack[sp++] = rt->vars[*pc++]; continue;
        case 0x06: stack[sp - 1] = -stack[sp - 1]; continue;
        case 0x0F: stack[sp - 1] = !stack[sp - 1]; continue;
        default: break;
        }
        b = stack[--sp];
        a = stack[sp - 1];
        switch (op) {
        case 0x03: a = a + b; break;
        case 0x04: a = a - b; break;
        case 0x05: a = a * b; break;
        case 0x07: a = a < b; break;
        case 0x08: a = a <= b; break;
        case 0x09: a = a > b; break;
        case 0x0A: a = a >= b; break;
        case 0x0B: a = a == b; break;
        case 0x0C: a = a != b; break;
        case 0x0D: a = (a != 0) && (b != 0); break;
        case 0x0E: a = (a != 0) || (b != 0); break;
        case 0x10: a = a < b ? a : b; break;
        case 0x11: a = a > b ? a : b; break;
        default: return 0;
        }
        stack[sp - 1] = a;
    }
}

static int guard_ok(const toyrt_t *rt, uint16_t off) { return off == NO_CODE || eval(rt, off) != 0; }

static uint32_t xorshift32(uint32_t x) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}

/* ---- actions ---- */
static void run_actions(toyrt_t *rt, uint16_t off) {
    const uint8_t *pc;
    if (off == NO_CODE) return;
    pc = CODE(rt) + off;
    for (;;) {
        uint8_t op = *pc++;
        switch (op) {
        case 0x00: return;
        case 0x01: case 0x02:
            emit(rt, op == 0x01 ? TOYRT_PLAY : TOYRT_SPEAK, pc[0], pc[1], 0, 0, 2); pc += 2; break;
        case 0x03:
            emit(rt, TOYRT_LED, pc[0], pc[1], ((int32_t)pc[2] << 16) | ((int32_t)pc[3] << 8) | (int32_t)pc[4], pc[5], 4);
            pc += 6; break;
        case 0x04: emit(rt, TOYRT_MOTOR, pc[0], (int8_t)pc[1], rd16(pc + 2), 0, 3); pc += 4; break;
        case 0x05: emit(rt, TOYRT_RECORD, rd16(pc), 0, 0, 0, 1); pc += 2; break;
        case 0x06: emit(rt, TOYRT_UPLOAD, 0, 0, 0, 0, 0); break;
        case 0x07: emit(rt, TOYRT_DELETE, 0, 0, 0, 0, 0); break;
        case 0x08: rt->listen = pc[0]; emit(rt, TOYRT_LISTEN, pc[0], 0, 0, 0, 1); pc += 1; break;
        case 0x09: {
            uint8_t var = pc[0];
            const uint8_t *spec = vars_tab(rt) + 6u * var;
            int32_t value = eval(rt, rd16(pc + 1));
            if (value < rds16(spec)) value = rds16(spec);
            if (value > rds16(spec + 2)) value = rds16(spec + 2);
            rt->vars[var] = (int16_t)value;
            emit(rt, TOYRT_SET, var, value, 0, 0, 2);
            pc += 3;
            break;
        }
        case 0x0A:
            if (rt->qlen < TOYRT_QUEUE) {
                rt->queue[rt->qlen++] = pc[0];
                emit(rt, TOYRT_RAISE, pc[0], 0, 0, 0, 1);
            } else {
                emit(rt, TOYRT_DROP, pc[0], 0, 0, 0, 1);
            }
            pc += 1;
            break;
        case 0x0B: {
            uint8_t n = pc[0], i, pick = 0;
            uint32_t total = 0, r, acc;
            for (i = 0; i < n; i++) total += rd16(pc + 1 + 4u * i);
            rt->rng = xorshift32(rt->rng);
            r = rt->rng % total;
            acc = rd16(pc + 1);
            while (r >= acc) { pick++; acc += rd16(pc + 1 + 4u * pick); }
            emit(rt, TOYRT_RANDOM, pick, 0, 0, 0, 1);
            run_actions(rt, rd16(pc + 1 + 4u * pick + 2));
            pc += 1 + 4u * n;
            break;
        }
        case 0x0C: {
            uint8_t n = pc[0], i, best = 0;
            int32_t best_score = 0;
            for (i = 0; i < n; i++) {
                int32_t score = eval(rt, rd16(pc + 1 + 4u * i));
                if (i == 0 || score > best_score) { best = i; best_score = score; }
            }
            emit(rt, TOYRT_UTILITY, best, 0, 0, 0, 1);
            run_actions(rt, rd16(pc + 1 + 4u * best + 2));
            pc += 1 + 4u * n;
            break;
        }
        default: return; /* unknown opcode: stop this list */
        }
    }
}

/* ---- states ---- */
static void exit_state(toyrt_t *rt, uint8_t s) {
    const uint8_t *st = state_at(rt, s);
    uint8_t k, count = st[9];
    uint16_t first = rd16(st + 10);
    emit(rt, TOYRT_EXIT, s, 0, 0, 0, 1);
    for (k = 0; k < count; k++) rt->active &= ~((uint32_t)1 << timer_at(rt, (uint16_t)(first + k))[4]);
    run_actions(rt, rd16(st + 4));
}

static void enter_state(toyrt_t *rt, uint8_t s) {
    const uint8_t *st = state_at(rt, s);
    uint8_t k, count = st[9];
    uint16_t first = rd16(st + 10);
    emit(rt, TOYRT_ENTER, s, 0, 0, 0, 1);
    for (k = 0; k < count; k++) {
        const uint8_t *tm = timer_at(rt, (uint16_t)(first + k));
        rt->deadline[tm[4]] = rt->now + rd32(tm);
        rt->active |= (uint32_t)1 << tm[4];
    }
    run_actions(rt, rd16(st + 2));
}

static int is_ancestor_or_self(const toyrt_t *rt, uint8_t a, uint8_t s) {
    while (s != TOYRT_NONE) {
        if (s == a) return 1;
        s = PARENT(rt, s);
    }
    return 0;
}

/* Take a transition from `source` to `target` (TOYRT_NONE: internal) with `actions`. */
static void take(toyrt_t *rt, uint8_t source, uint8_t target, uint16_t actions) {
    uint8_t domain, s, path[TOYRT_MAX_DEPTH];
    int n = 0;
    if (target == TOYRT_NONE) {
        run_actions(rt, actions);
        return;
    }
    domain = PARENT(rt, source);
    while (domain != TOYRT_NONE && (domain == target || !is_ancestor_or_self(rt, domain, target)))
        domain = PARENT(rt, domain);
    for (s = rt->leaf; s != domain; s = PARENT(rt, s)) exit_state(rt, s);
    run_actions(rt, actions);
    for (s = target; s != domain && n < TOYRT_MAX_DEPTH; s = PARENT(rt, s)) path[n++] = s;
    while (n > 0) enter_state(rt, path[--n]);
    s = target;
    while (INITIAL(rt, s) != TOYRT_NONE) {
        s = INITIAL(rt, s);
        enter_state(rt, s);
    }
    rt->leaf = s;
}

static int dispatch(toyrt_t *rt, uint8_t ev) {
    uint8_t s;
    for (s = rt->leaf; s != TOYRT_NONE; s = PARENT(rt, s)) {
        const uint8_t *st = state_at(rt, s);
        uint16_t first = rd16(st + 6), k;
        for (k = 0; k < st[8]; k++) {
            const uint8_t *tr = trans_at(rt, (uint16_t)(first + k));
            if (tr[0] == ev && guard_ok(rt, rd16(tr + 2))) {
                take(rt, s, tr[1], rd16(tr + 4));
                return 1;
            }
        }
    }
    return 0;
}

static void drain(toyrt_t *rt) {
    int count = 0;
    while (rt->qlen > 0) {
        uint8_t ev, i;
        if (count == TOYRT_MAX_INTERNAL) {
            for (i = 0; i < rt->qlen; i++) emit(rt, TOYRT_DROP, rt->queue[i], 0, 0, 0, 1);
            rt->qlen = 0;
            return;
        }
        ev = rt->queue[0];
        for (i = 1; i < rt->qlen; i++) rt->queue[i - 1] = rt->queue[i];
        rt->qlen--;
        count++;
        dispatch(rt, ev);
    }
}

void toyrt_start(toyrt_t *rt, uint32_t t) {
    uint8_t s = ROOT(rt);
    rt->now = t;
    enter_state(rt, s);
    while (INITIAL(rt, s) != TOYRT_NONE) {
        s = INITIAL(rt, s);
        enter_state(rt, s);
    }
    rt->leaf = s;
    drain(rt);
}

int toyrt_next_deadline(const toyrt_t *rt, uint32_t *deadline) {
    uint8_t i;
    int found = 0;
    uint32_t best = 0;
    for (i = 0; i < N_SLOTS(rt); i++) {
        if ((rt->active >> i) & 1u) {
            if (!found || rt->deadline[i] < best) best = rt->deadline[i];
            found = 1;
        }
    }
    if (found && deadline) *deadline = best;
    return found;
}

void toyrt_advance(toyrt_t *rt, uint32_t t) {
    for (;;) {
        uint8_t i, slot = TOYRT_NONE, s;
        uint32_t best = 0;
        for (i = 0; i < N_SLOTS(rt); i++) {
            if (((rt->active >> i) & 1u) && rt->deadline[i] <= t && (slot == TOYRT_NONE || rt->deadline[i] < best)) {
                slot = i;
                best = rt->deadline[i];
            }
        }
        if (slot == TOYRT_NONE) break;
        rt->active &= ~((uint32_t)1 << slot);
        rt->now = best;
        /* the armed timer of this slot belongs to the active state chain */
        for (s = rt->leaf; s != TOYRT_NONE; s = PARENT(rt, s)) {
            const uint8_t *st = state_at(rt, s);
            uint16_t first = rd16(st + 10), k;
            for (k = 0; k < st[9]; k++) {
                const uint8_t *tm = timer_at(rt, (uint16_t)(first + k));
                if (tm[4] == slot) {
                    if (guard_ok(rt, rd16(tm + 6))) take(rt, s, tm[5], rd16(tm + 8));
                    goto fired;
                }
            }
        }
    fired:
        drain(rt);
    }
    if (t > rt->now) rt->now = t;
}

int toyrt_event(toyrt_t *rt, uint32_t t, uint8_t ev) {
    int taken;
    toyrt_advance(rt, t);
    rt->now = t;
    if (ev >= N_EVENTS(rt)) return 0;
    if (events_tab(rt)[ev] & 1u && !rt->listen) return 0;
    taken = dispatch(rt, ev);
    drain(rt);
    return taken;
}
