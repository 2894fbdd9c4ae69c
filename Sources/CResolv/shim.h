#ifndef PRISM_CRESOLV_SHIM_H
#define PRISM_CRESOLV_SHIM_H
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <resolv.h>

/* res_query is a macro over __res_query in glibc; Swift imports functions, not such macros.
   The answer is the raw DNS message, parsed in Swift (SRVRecords.parse). */
static inline int prism_res_query_srv(const char *name, unsigned char *answer, int length) {
    return res_query(name, ns_c_in, ns_t_srv, answer, length);
}
#endif
