#ifndef PRISM_VECTOR_KERNELS_H
#define PRISM_VECTOR_KERNELS_H

#include <stddef.h>

/* Distance kernels over `count` float32 values at `a` and `b` (any alignment). They use AVX-512,
   else AVX2 and FMA, when the CPU has them (checked once, at load) and portable SSE code
   otherwise, so one
   binary runs everywhere and is fast where it can be. Swift cannot compile a function for a
   CPU feature it does not assume for the whole program; C can (target attributes). */

/* Squared Euclidean distance. */
float prism_l2_squared(const void *a, const void *b, size_t count);

/* Dot product. */
float prism_dot(const void *a, const void *b, size_t count);

enum { PRISM_KERNEL_PORTABLE = 0, PRISM_KERNEL_AVX2 = 1, PRISM_KERNEL_AVX512 = 2 };

/* The kernel in use: the best this CPU has (reported by benchmarks). */
int prism_vector_kernel(void);

/* The same distances through a given kernel, or the best this CPU has when it lacks that one
   (so tests check every kernel the machine can run against plain loops). */
float prism_l2_squared_kernel(int kernel, const void *a, const void *b, size_t count);
float prism_dot_kernel(int kernel, const void *a, const void *b, size_t count);

#endif
