#ifndef PRISM_CRC32C_H
#define PRISM_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The CPU's CRC-32C instruction (SSE 4.2 on x86-64), which Swift cannot reach: the write-ahead
   log checksums every record it writes and replays, and the table-driven code took 2–5% of a
   Raft node's CPU under load. */

/* Nonzero when this CPU has the instruction (checked once, at load). */
int prism_crc32c_hardware(void);

/* The register form: continues `crc` (not inverted) over `n` bytes. Only when
   prism_crc32c_hardware() is nonzero. */
uint32_t prism_crc32c_update(uint32_t crc, const void *bytes, size_t n);

#endif
