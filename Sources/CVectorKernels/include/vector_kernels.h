#ifndef PRISM_VECTOR_KERNELS_H
#define PRISM_VECTOR_KERNELS_H

#include <stddef.h>

/* Distance kernels over `count` float32 values at `a` and `b` (any alignment). They use AVX2 and
   FMA when the CPU has them (checked once, at load) and portable SSE code otherwise, so one
   binary runs everywhere and is fast where it can be. Swift cannot compile a function for a
   CPU feature it does not assume for the whole program; C can (target attributes). */

/* Squared Euclidean distance. */
float prism_l2_squared(const void *a, const void *b, size_t count);

/* Dot product. */
float prism_dot(const void *a, const void *b, size_t count);

/* Whether the AVX2 kernels are in use (reported by benchmarks). */
int prism_vector_kernels_use_avx2(void);

#endif
