/* toyrt_init_signed: authenticated program images (see toyrt.h, docs/toys-format.md).
 * Links the vendored Monocypher (monocypher/monocypher.c and
 * monocypher/monocypher-ed25519.c, BSD-2-Clause or CC0, see monocypher/LICENCE.md). */
#include "toyrt.h"
#include "monocypher/monocypher-ed25519.h"

int toyrt_init_signed(toyrt_t *rt, const uint8_t *prog, uint32_t len, const uint8_t trusted_key[32],
                      uint32_t seed, toyrt_emit_fn emit, void *user) {
    rt->prog = 0;
    if (prog == 0 || trusted_key == 0 || len < TOYRT_HEADER_SIZE + TOYRT_SIGNATURE_SIZE || len > 0xFFFFu ||
        ((uint32_t)prog[6] | ((uint32_t)prog[7] << 8)) != len) return TOYRT_E_SIZE;
    if ((prog[5] & 0x01u) == 0) return TOYRT_E_UNSIGNED;
    /* the signature covers every byte before it, header included */
    if (crypto_ed25519_check(prog + len - TOYRT_SIGNATURE_SIZE, trusted_key, prog,
                             len - TOYRT_SIGNATURE_SIZE) != 0) return TOYRT_E_SIGNATURE;
    return toyrt_init(rt, prog, len, seed, emit, user);
}
