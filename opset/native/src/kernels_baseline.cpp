// Portable copy of the kernels: runs on any CPU the compiler targets by default.
#define MLXU_NS baseline
#include "kernels_impl.h"

namespace mlxu {
const KernelTable& kernels_baseline() { return baseline::table(); }
}  // namespace mlxu
