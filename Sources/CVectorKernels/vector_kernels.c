#include "vector_kernels.h"

#include <string.h>

static inline float load_float(const unsigned char *p) {
    float f;
    memcpy(&f, p, sizeof f);
    return f;
}

#if defined(__x86_64__)
#include <immintrin.h>

static int use_avx2;

__attribute__((constructor)) static void select_kernels(void) {
    __builtin_cpu_init();
    use_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

int prism_vector_kernels_use_avx2(void) { return use_avx2; }

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

float prism_l2_squared(const void *a, const void *b, size_t count) {
    return use_avx2 ? l2_avx2(a, b, count) : l2_portable(a, b, count);
}

float prism_dot(const void *a, const void *b, size_t count) {
    return use_avx2 ? dot_avx2(a, b, count) : dot_portable(a, b, count);
}

#else  /* not x86-64: plain loops, which the compiler vectorizes for the target */

int prism_vector_kernels_use_avx2(void) { return 0; }

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
