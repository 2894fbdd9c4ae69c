#include "crc32c.h"

#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>

static int has_sse42 = 0;

__attribute__((constructor)) static void detect_crc32c(void) {
    __builtin_cpu_init();
    has_sse42 = __builtin_cpu_supports("sse4.2");
}

int prism_crc32c_hardware(void) { return has_sse42; }

__attribute__((target("sse4.2"))) uint32_t prism_crc32c_update(uint32_t crc, const void *bytes, size_t n) {
    const unsigned char *p = bytes;
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, p, sizeof word);
        c = _mm_crc32_u64(c, word);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n > 0) {
        c32 = _mm_crc32_u8(c32, *p);
        p++;
        n--;
    }
    return c32;
}

#else

int prism_crc32c_hardware(void) { return 0; }

uint32_t prism_crc32c_update(uint32_t crc, const void *bytes, size_t n) {
    (void)bytes;
    (void)n;
    return crc;
}

#endif
