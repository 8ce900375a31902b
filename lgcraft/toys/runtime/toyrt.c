/* toyrt: see toyrt.h and docs/toys-format.md. C99, no dynamic allocation. */
#include "toyrt.h"

#define HDR_SIZE TOYRT_HEADER_SIZE
#define STATE_SIZE 12u
#define TRANS_SIZE 6u
#define TIMER_SIZE 10u
#define NO_CODE 0xFFFFu
#define FLAG_SIGNED 0x01u
#define MAX_DELAY 0x7FFFFFFFu
#define VERIFY_WORK (1ul << 22) /* steps the verifier may take: bounds load time on any image */

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
/* wrap-safe: a is at or before b on the 32-bit clock (they are < 2^31 ms apart) */
#define NOT_AFTER(a, b) ((uint32_t)((b) - (a)) < 0x80000000u)

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

/* ---- load-time verification ----
 * Everything the interpreter later trusts is checked here once: table sizes add up to
 * the code area's offset, every index is below its count, every code offset lies in the
 * code area, every action list and expression is well formed (operands inside the code
 * area, ids below the header's counts, stack depth within the declared maximum, choices
 * nested at most TOYRT_MAX_NESTING deep and only towards lower offsets, so no cycle),
 * timers have delays 1..2^31-1 ms and slots below 32, states form a tree of depth at most
 * TOYRT_MAX_DEPTH with parents before children. Work is bounded by VERIFY_WORK. */
typedef struct {
    const uint8_t *prog;
    const uint8_t *code;
    uint32_t code_size;
    unsigned long work;
    uint8_t n_states, n_events, n_vars, n_slots, max_stack, n_clips, n_leds, n_motors;
} verifier_t;

static int spend(verifier_t *v) { return ++v->work <= VERIFY_WORK; }

static int check_expr(verifier_t *v, uint16_t off) {
    uint32_t pc = off;
    unsigned depth = 0;
    if (off >= v->code_size) return 0;
    for (;;) {
        uint8_t op;
        if (pc >= v->code_size || !spend(v)) return 0;
        op = v->code[pc++];
        switch (op) {
        case 0x00: return depth == 1;
        case 0x01: if (pc + 2 > v->code_size) return 0; pc += 2; depth++; break;
        case 0x02: if (pc + 1 > v->code_size || v->code[pc] >= v->n_vars) return 0; pc += 1; depth++; break;
        case 0x06: case 0x0F: if (depth < 1) return 0; break;
        case 0x03: case 0x04: case 0x05: case 0x07: case 0x08: case 0x09: case 0x0A: case 0x0B:
        case 0x0C: case 0x0D: case 0x0E: case 0x10: case 0x11:
            if (depth < 2) return 0;
            depth--;
            break;
        default: return 0;
        }
        if (depth > v->max_stack) return 0;
    }
}

static int check_actions(verifier_t *v, uint16_t off, unsigned nesting) {
    uint32_t pc = off;
    if (off == NO_CODE) return 1;
    if (off >= v->code_size) return 0;
    for (;;) {
        uint8_t op;
        const uint8_t *a;
        if (pc >= v->code_size || !spend(v)) return 0;
        op = v->code[pc++];
        a = v->code + pc;
#define NEED(n) do { if (pc + (n) > v->code_size) return 0; } while (0)
        switch (op) {
        case 0x00: return 1;
        case 0x01: case 0x02: NEED(2); if (a[0] >= v->n_clips || a[1] > 100) return 0; pc += 2; break;
        case 0x03: NEED(6); if (a[0] >= v->n_leds || a[1] > 3) return 0; pc += 6; break;
        case 0x04: NEED(4); if (a[0] >= v->n_motors) return 0; pc += 4; break;
        case 0x05: NEED(2); pc += 2; break;
        case 0x06: case 0x07: break;
        case 0x08: NEED(1); if (a[0] > 1) return 0; pc += 1; break;
        case 0x09: NEED(3); if (a[0] >= v->n_vars || !check_expr(v, rd16(a + 1))) return 0; pc += 3; break;
        case 0x0A: NEED(1); if (a[0] >= v->n_events) return 0; pc += 1; break;
        case 0x0B: case 0x0C: {
            uint8_t n, i;
            uint32_t total = 0;
            NEED(1);
            n = a[0];
            if (n == 0) return 0;
            NEED(1u + 4u * n);
            if (nesting >= TOYRT_MAX_NESTING) return 0;
            for (i = 0; i < n; i++) {
                uint16_t first = rd16(a + 1 + 4u * i), body = rd16(a + 3 + 4u * i);
                if (op == 0x0B) total += first;
                else if (!check_expr(v, first)) return 0;
                /* nested lists lie before the list that holds them: no cycles */
                if (body != NO_CODE && (body >= off || !check_actions(v, body, nesting + 1))) return 0;
            }
            if (op == 0x0B && total == 0) return 0;
            pc += 1u + 4u * n;
            break;
        }
        default: return 0;
        }
#undef NEED
    }
}

int toyrt_validate(const uint8_t *prog, uint32_t len) {
    verifier_t v;
    uint32_t content, tables, code_off, code_size, i;
    uint16_t n_trans, n_timers;
    const uint8_t *vars, *states, *trans, *timers;
    if (prog == 0 || len < HDR_SIZE || len > 0xFFFFu || rd16(prog + 6) != len) return TOYRT_E_SIZE;
    if (prog[0] != 'L' || prog[1] != 'G' || prog[2] != 'T' || prog[3] != 'Y') return TOYRT_E_MAGIC;
    if (prog[4] != 2) return TOYRT_E_VERSION;
    content = len;
    if (prog[5] & FLAG_SIGNED) {
        if (len < HDR_SIZE + TOYRT_SIGNATURE_SIZE) return TOYRT_E_SIZE;
        content = len - TOYRT_SIGNATURE_SIZE;
    }
    if (toyrt_crc32(prog + 12, content - 12) != rd32(prog + 8)) return TOYRT_E_CHECKSUM;
    v.prog = prog;
    v.n_states = prog[12]; v.n_events = prog[13]; v.n_vars = prog[14]; v.n_slots = prog[15];
    v.max_stack = prog[16]; v.n_clips = prog[28]; v.n_leds = prog[29]; v.n_motors = prog[30];
    v.work = 0;
    n_trans = rd16(prog + 18);
    n_timers = rd16(prog + 20);
    if (v.n_slots > TOYRT_MAX_SLOTS || v.n_slots > 32 || v.n_vars > TOYRT_MAX_VARS ||
        v.max_stack > TOYRT_MAX_STACK || v.max_stack < 1) return TOYRT_E_CAPACITY;
#if TOYRT_MAX_CLIPS < 255
    if (v.n_clips > TOYRT_MAX_CLIPS) return TOYRT_E_CAPACITY;
#endif
#if TOYRT_MAX_LEDS < 255
    if (v.n_leds > TOYRT_MAX_LEDS) return TOYRT_E_CAPACITY;
#endif
#if TOYRT_MAX_MOTORS < 255
    if (v.n_motors > TOYRT_MAX_MOTORS) return TOYRT_E_CAPACITY;
#endif
    code_off = rd16(prog + 22);
    code_size = rd16(prog + 24);
    tables = HDR_SIZE + v.n_events + 6u * v.n_vars + STATE_SIZE * v.n_states + TRANS_SIZE * (uint32_t)n_trans +
             TIMER_SIZE * (uint32_t)n_timers;
    if (v.n_states == 0 || v.n_states == 0xFF || tables != code_off || code_off + code_size > content)
        return TOYRT_E_LAYOUT;
    v.code = prog + code_off;
    v.code_size = code_size;
    vars = prog + HDR_SIZE + v.n_events;
    states = vars + 6u * v.n_vars;
    trans = states + STATE_SIZE * v.n_states;
    timers = trans + TRANS_SIZE * (uint32_t)n_trans;
    for (i = 0; i < v.n_vars; i++) {
        int16_t lo = rds16(vars + 6u * i), hi = rds16(vars + 6u * i + 2), init = rds16(vars + 6u * i + 4);
        if (lo > hi || init < lo || init > hi) return TOYRT_E_LAYOUT;
    }
    if (prog[17] >= v.n_states || states[STATE_SIZE * prog[17]] != TOYRT_NONE) return TOYRT_E_STATE;
    for (i = 0; i < v.n_states; i++) {
        const uint8_t *st = states + STATE_SIZE * i;
        uint8_t parent = st[0], initial = st[1], s;
        unsigned depth = 0;
        if (parent != TOYRT_NONE && parent >= i) return TOYRT_E_STATE;
        if (initial != TOYRT_NONE &&
            (initial >= v.n_states || initial <= i || states[STATE_SIZE * initial] != i)) return TOYRT_E_STATE;
        for (s = (uint8_t)i; s != TOYRT_NONE; s = states[STATE_SIZE * s]) {
            if (++depth > TOYRT_MAX_DEPTH) return TOYRT_E_STATE;
        }
        if ((uint32_t)rd16(st + 6) + st[8] > n_trans || (uint32_t)rd16(st + 10) + st[9] > n_timers)
            return TOYRT_E_STATE;
        if (!check_actions(&v, rd16(st + 2), 0) || !check_actions(&v, rd16(st + 4), 0)) return TOYRT_E_CODE;
    }
    for (i = 0; i < n_trans; i++) {
        const uint8_t *tr = trans + TRANS_SIZE * i;
        if (tr[0] >= v.n_events || (tr[1] != TOYRT_NONE && tr[1] >= v.n_states)) return TOYRT_E_TRANSITION;
        if ((rd16(tr + 2) != NO_CODE && !check_expr(&v, rd16(tr + 2))) || !check_actions(&v, rd16(tr + 4), 0))
            return TOYRT_E_CODE;
    }
    for (i = 0; i < n_timers; i++) {
        const uint8_t *tm = timers + TIMER_SIZE * i;
        uint32_t delay = rd32(tm);
        if (delay == 0 || delay > MAX_DELAY || tm[4] >= v.n_slots ||
            (tm[5] != TOYRT_NONE && tm[5] >= v.n_states)) return TOYRT_E_TIMER;
        if ((rd16(tm + 6) != NO_CODE && !check_expr(&v, rd16(tm + 6))) || !check_actions(&v, rd16(tm + 8), 0))
            return TOYRT_E_CODE;
    }
    return TOYRT_OK;
}

int toyrt_init(toyrt_t *rt, const uint8_t *prog, uint32_t len, uint32_t seed,
               toyrt_emit_fn emit_fn, void *user) {
    uint8_t i;
    int rc = toyrt_validate(prog, len);
    rt->prog = 0;
    if (rc != TOYRT_OK) return rc;
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
        case 0x06: stack[sp - 1] = (int32_t)(0u - (uint32_t)stack[sp - 1]); continue;
        case 0x0F: stack[sp - 1] = !stack[sp - 1]; continue;
        default: break;
        }
        b = stack[--sp];
        a = stack[sp - 1];
        switch (op) {
        /* wrapping (never undefined): a verified but hand-made image may overflow;
         * compiled images cannot (the compiler bounds every value) */
        case 0x03: a = (int32_t)((uint32_t)a + (uint32_t)b); break;
        case 0x04: a = (int32_t)((uint32_t)a - (uint32_t)b); break;
        case 0x05: a = (int32_t)((uint32_t)a * (uint32_t)b); break;
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
    uint8_t s;
    if (rt->prog == 0) return; /* not initialised, or the image was refused */
    s = ROOT(rt);
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
    if (rt->prog == 0) return 0;
    for (i = 0; i < N_SLOTS(rt); i++) {
        if ((rt->active >> i) & 1u) {
            if (!found || (uint32_t)(rt->deadline[i] - rt->now) < (uint32_t)(best - rt->now)) best = rt->deadline[i];
            found = 1;
        }
    }
    if (found && deadline) *deadline = best;
    return found;
}

void toyrt_advance(toyrt_t *rt, uint32_t t) {
    if (rt->prog == 0) return;
    for (;;) {
        uint8_t i, slot = TOYRT_NONE, s;
        uint32_t best = 0;
        for (i = 0; i < N_SLOTS(rt); i++) {
            if (((rt->active >> i) & 1u) && NOT_AFTER(rt->deadline[i], t) &&
                (slot == TOYRT_NONE || (uint32_t)(rt->deadline[i] - rt->now) < (uint32_t)(best - rt->now))) {
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
    if (!NOT_AFTER(t, rt->now)) rt->now = t;
}

int toyrt_event(toyrt_t *rt, uint32_t t, uint8_t ev) {
    int taken;
    if (rt->prog == 0) return 0;
    toyrt_advance(rt, t);
    if (!NOT_AFTER(t, rt->now)) rt->now = t; /* a time behind the clock counts as now */
    if (ev >= N_EVENTS(rt)) return 0;
    if (events_tab(rt)[ev] & 1u && !rt->listen) return 0;
    taken = dispatch(rt, ev);
    drain(rt);
    return taken;
}
