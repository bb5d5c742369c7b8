// AVX2 + FMA copy of the kernels (this file alone is compiled with -mavx2 -mfma).
#define MLXU_ISA_AVX2 1
#define MLXU_NS avx2
#include "kernels_impl.h"

namespace mlxu {
const KernelTable& kernels_avx2() { return avx2::table(); }
}  // namespace mlxu
