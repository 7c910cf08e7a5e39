/*
 * One SIMD path's table of kernels (see mlpfast_simd.h): compiled once per
 * path with -DMLPF_SIMD_COPY=<path> and that path's instruction-set flags,
 * beside elementwise.c and vecmath.c built the same way.  The renamed
 * prototypes of mlpfast_elementwise.h and mlpfast_vecmath.h type-check
 * every entry against its kernel.
 */
#ifndef MLPF_SIMD_COPY
#error "simd_table.c is compiled once per SIMD path, with -DMLPF_SIMD_COPY=<path>"
#endif

#include "mlpfast_simd.h"

#define MLPF_SIMD_ENTRY_(ret, return_, name, params, args) name,
const mlpf_simd_table MLPF_SIMD_RENAME(mlpf_simd_table) = {
    MLPF_SIMD_FUNCTIONS(MLPF_SIMD_ENTRY_)
};
#undef MLPF_SIMD_ENTRY_
