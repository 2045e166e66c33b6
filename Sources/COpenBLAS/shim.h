#ifndef COPENBLAS_SHIM_H
#define COPENBLAS_SHIM_H
// Resolved through pkg-config "openblas" (Debian: .../openblas-pthread/cblas.h), which also declares
// openblas_set_num_threads / openblas_get_config.
#include <cblas.h>
#endif
