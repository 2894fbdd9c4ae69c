#include "vector_kernels.h"

#include <string.h>

static inline float load_float(const unsigned char *p) {
    float f;
    memcpy(&f, p, sizeof f);
    return f;
}

#if defined(__x86_64__)
#include <immintrin.h>

static int best_kernel = PRISM_KERNEL_PORTABLE;

__attribute__((constructor)) static void select_kernels(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best_kernel = PRISM_KERNEL_AVX2;
    if (__builtin_cpu_supports("avx512f")) best_kernel = PRISM_KERNEL_AVX512;
}

int prism_vector_kernel(void) { return best_kernel; }

/* Horizontal sums of the accumulator lanes. */
static inline float sum128(__m128 v) {
    v = _mm_add_ps(v, _mm_movehl_ps(v, v));
    v = _mm_add_ss(v, _mm_shuffle_ps(v, v, 1));
    return _mm_cvtss_f32(v);
}

__attribute__((target("avx2,fma")))
static inline float sum256(__m256 v) {
    return sum128(_mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)));
}

__attribute__((target("avx2,fma")))
static float l2_avx2(const unsigned char *a, const unsigned char *b, size_t count) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps((const float *)(a + 4 * i)), _mm256_loadu_ps((const float *)(b + 4 * i)));
        __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps((const float *)(a + 4 * i + 32)), _mm256_loadu_ps((const float *)(b + 4 * i + 32)));
        acc0 = _mm256_fmadd_ps(d0, d0, acc0);
        acc1 = _mm256_fmadd_ps(d1, d1, acc1);
    }
    for (; i + 8 <= count; i += 8) {
        __m256 d = _mm256_sub_ps(_mm256_loadu_ps((const float *)(a + 4 * i)), _mm256_loadu_ps((const float *)(b + 4 * i)));
        acc0 = _mm256_fmadd_ps(d, d, acc0);
    }
    float sum = sum256(_mm256_add_ps(acc0, acc1));
    for (; i < count; i++) {
        float d = load_float(a + 4 * i) - load_float(b + 4 * i);
        sum += d * d;
    }
    return sum;
}

__attribute__((target("avx2,fma")))
static float dot_avx2(const unsigned char *a, const unsigned char *b, size_t count) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps((const float *)(a + 4 * i)), _mm256_loadu_ps((const float *)(b + 4 * i)), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps((const float *)(a + 4 * i + 32)), _mm256_loadu_ps((const float *)(b + 4 * i + 32)), acc1);
    }
    for (; i + 8 <= count; i += 8) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps((const float *)(a + 4 * i)), _mm256_loadu_ps((const float *)(b + 4 * i)), acc0);
    }
    float sum = sum256(_mm256_add_ps(acc0, acc1));
    for (; i < count; i++) sum += load_float(a + 4 * i) * load_float(b + 4 * i);
    return sum;
}

/* One 512-bit register holds 16 floats: a 128-d vector is 8 loads, half of AVX2's, and the tail
   is a masked load instead of a scalar loop. */
__attribute__((target("avx512f")))
static float l2_avx512(const unsigned char *a, const unsigned char *b, size_t count) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= count; i += 32) {
        __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + 4 * i), _mm512_loadu_ps(b + 4 * i));
        __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(a + 4 * i + 64), _mm512_loadu_ps(b + 4 * i + 64));
        acc0 = _mm512_fmadd_ps(d0, d0, acc0);
        acc1 = _mm512_fmadd_ps(d1, d1, acc1);
    }
    for (; i + 16 <= count; i += 16) {
        __m512 d = _mm512_sub_ps(_mm512_loadu_ps(a + 4 * i), _mm512_loadu_ps(b + 4 * i));
        acc0 = _mm512_fmadd_ps(d, d, acc0);
    }
    if (i < count) {
        __mmask16 tail = (__mmask16)((1u << (count - i)) - 1);
        __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(tail, a + 4 * i), _mm512_maskz_loadu_ps(tail, b + 4 * i));
        acc1 = _mm512_fmadd_ps(d, d, acc1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

__attribute__((target("avx512f")))
static float dot_avx512(const unsigned char *a, const unsigned char *b, size_t count) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= count; i += 32) {
        acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + 4 * i), _mm512_loadu_ps(b + 4 * i), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + 4 * i + 64), _mm512_loadu_ps(b + 4 * i + 64), acc1);
    }
    for (; i + 16 <= count; i += 16) {
        acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + 4 * i), _mm512_loadu_ps(b + 4 * i), acc0);
    }
    if (i < count) {
        __mmask16 tail = (__mmask16)((1u << (count - i)) - 1);
        acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, a + 4 * i), _mm512_maskz_loadu_ps(tail, b + 4 * i), acc1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

static float l2_portable(const unsigned char *a, const unsigned char *b, size_t count) {
    __m128 acc0 = _mm_setzero_ps(), acc1 = _mm_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m128 d0 = _mm_sub_ps(_mm_loadu_ps((const float *)(a + 4 * i)), _mm_loadu_ps((const float *)(b + 4 * i)));
        __m128 d1 = _mm_sub_ps(_mm_loadu_ps((const float *)(a + 4 * i + 16)), _mm_loadu_ps((const float *)(b + 4 * i + 16)));
        acc0 = _mm_add_ps(acc0, _mm_mul_ps(d0, d0));
        acc1 = _mm_add_ps(acc1, _mm_mul_ps(d1, d1));
    }
    float sum = sum128(_mm_add_ps(acc0, acc1));
    for (; i < count; i++) {
        float d = load_float(a + 4 * i) - load_float(b + 4 * i);
        sum += d * d;
    }
    return sum;
}

static float dot_portable(const unsigned char *a, const unsigned char *b, size_t count) {
    __m128 acc0 = _mm_setzero_ps(), acc1 = _mm_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        acc0 = _mm_add_ps(acc0, _mm_mul_ps(_mm_loadu_ps((const float *)(a + 4 * i)), _mm_loadu_ps((const float *)(b + 4 * i))));
        acc1 = _mm_add_ps(acc1, _mm_mul_ps(_mm_loadu_ps((const float *)(a + 4 * i + 16)), _mm_loadu_ps((const float *)(b + 4 * i + 16))));
    }
    float sum = sum128(_mm_add_ps(acc0, acc1));
    for (; i < count; i++) sum += load_float(a + 4 * i) * load_float(b + 4 * i);
    return sum;
}

static inline float l2_with(int kernel, const void *a, const void *b, size_t count) {
    switch (kernel) {
    case PRISM_KERNEL_AVX512: return l2_avx512(a, b, count);
    case PRISM_KERNEL_AVX2: return l2_avx2(a, b, count);
    default: return l2_portable(a, b, count);
    }
}

static inline float dot_with(int kernel, const void *a, const void *b, size_t count) {
    switch (kernel) {
    case PRISM_KERNEL_AVX512: return dot_avx512(a, b, count);
    case PRISM_KERNEL_AVX2: return dot_avx2(a, b, count);
    default: return dot_portable(a, b, count);
    }
}

/* A kernel the CPU lacks falls back to the best it has, so tests may ask for any. */
float prism_l2_squared_kernel(int kernel, const void *a, const void *b, size_t count) {
    return l2_with(kernel > best_kernel ? best_kernel : kernel, a, b, count);
}

float prism_dot_kernel(int kernel, const void *a, const void *b, size_t count) {
    return dot_with(kernel > best_kernel ? best_kernel : kernel, a, b, count);
}

float prism_l2_squared(const void *a, const void *b, size_t count) { return l2_with(best_kernel, a, b, count); }

float prism_dot(const void *a, const void *b, size_t count) { return dot_with(best_kernel, a, b, count); }

#else  /* not x86-64: plain loops, which the compiler vectorizes for the target */

int prism_vector_kernel(void) { return PRISM_KERNEL_PORTABLE; }

float prism_l2_squared_kernel(int kernel, const void *a, const void *b, size_t count) {
    (void)kernel;
    return prism_l2_squared(a, b, count);
}

float prism_dot_kernel(int kernel, const void *a, const void *b, size_t count) {
    (void)kernel;
    return prism_dot(a, b, count);
}

float prism_l2_squared(const void *a, const void *b, size_t count) {
    const unsigned char *x = a, *y = b;
    float sum = 0;
    for (size_t i = 0; i < count; i++) {
        float d = load_float(x + 4 * i) - load_float(y + 4 * i);
        sum += d * d;
    }
    return sum;
}

float prism_dot(const void *a, const void *b, size_t count) {
    const unsigned char *x = a, *y = b;
    float sum = 0;
    for (size_t i = 0; i < count; i++) sum += load_float(x + 4 * i) * load_float(y + 4 * i);
    return sum;
}

#endif
