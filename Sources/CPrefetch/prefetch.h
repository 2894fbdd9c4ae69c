#ifndef PRISM_PREFETCH_H
#define PRISM_PREFETCH_H

/* Asks the CPU to start loading the cache line at `address` (for reading, keep in all levels).
   Graph walks know the next few vectors and nodes they will read long before they read them;
   issuing the loads early overlaps their memory latency, which dominates HNSW search. Swift has
   no prefetch intrinsic, so this header is the bridge. */
static inline void prism_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
