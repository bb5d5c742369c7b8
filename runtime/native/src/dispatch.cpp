// Picks the kernel table once, from what the CPU reports (not what the compiler assumed).
#include <cstdlib>
#include <cstring>

#include "kernels.h"

namespace mlxu {

const KernelTable& best_kernels() {
  static const KernelTable& chosen = [&]() -> const KernelTable& {
    const char* forced = std::getenv("MLX_UNIFACE_ISA");
    if (forced && std::strcmp(forced, "baseline") == 0) return kernels_baseline();
#if defined(__x86_64__) || defined(_M_X64)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return kernels_avx2();
#endif
#if defined(__aarch64__)
    return kernels_neon();
#endif
    return kernels_baseline();
  }();
  return chosen;
}

}  // namespace mlxu
