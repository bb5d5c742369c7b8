// NEON copy of the kernels (arm64; NEON is always present there).
#define MLXU_ISA_NEON 1
#define MLXU_NS neon
#include "kernels_impl.h"

namespace mlxu {
const KernelTable& kernels_neon() { return neon::table(); }
}  // namespace mlxu
