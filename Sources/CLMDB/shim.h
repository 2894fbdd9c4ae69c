#ifndef PRISM_CLMDB_SHIM_H
#define PRISM_CLMDB_SHIM_H
#include <lmdb.h>
#endif
