// AVX-512 copy of the kernels (this file alone is compiled with -mavx512f): 16 lanes, 8-pixel micro-tiles.
#define MLXU_ISA_AVX512 1
#define MLXU_NS avx512
#define MLXU_MR 8
#define MLXU_NARROW_TABLE kernels_avx2
#include "kernels_impl.h"

namespace mlxu {
const KernelTable& kernels_avx512() { return avx512::table(); }
}  // namespace mlxu
