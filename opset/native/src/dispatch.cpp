// Picks the kernel table from what the CPU reports at run time (not what the compiler assumed):
// an AVX2 or AVX-512 binary would crash on a CPU without them.
#include <atomic>
#include <cstdlib>
#include <numeric>

#include "kernels.h"

namespace mlxu {

int concat_conv_segment(const int* widths, int nparts) {
  int seg = 0, total = 0;
  for (int k = 0; k < nparts; ++k) seg = std::gcd(seg, widths[k]), total += widths[k];
  return seg > 0 && total / seg <= kMaxSegments ? seg : 0;
}

namespace {

std::vector<const KernelTable*> runnable() {
  std::vector<const KernelTable*> out;
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) out.push_back(&kernels_avx512());
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) out.push_back(&kernels_avx2());
#endif
#if defined(__aarch64__)
  out.push_back(&kernels_neon());
#endif
  out.push_back(&kernels_baseline());
  return out;
}

const KernelTable* find(const std::string& name) {
  for (const KernelTable* t : runnable())
    if (name == t->isa) return t;
  return nullptr;
}

std::atomic<const KernelTable*> current{nullptr};

}  // namespace

const KernelTable& best_kernels() {
  const KernelTable* t = current.load(std::memory_order_acquire);
  if (t) return *t;
  const char* forced = std::getenv("MLX_UNIFACE_ISA");
  t = forced ? find(forced) : nullptr;
  if (!t) t = runnable().front();
  current.store(t, std::memory_order_release);
  return *t;
}

const KernelTable& kernels_for_channels(int channels) {
  const KernelTable& best = best_kernels();
  if (channels % best.lanes == 0) return best;
  const auto tables = runnable();
  for (size_t i = 0; i + 1 < tables.size(); ++i)
    if (tables[i] == &best && channels % tables[i + 1]->lanes == 0) return *tables[i + 1];
  return best;
}

std::vector<std::string> available_isas() {
  std::vector<std::string> names;
  for (const KernelTable* t : runnable()) names.emplace_back(t->isa);
  return names;
}

bool set_isa(const std::string& name) {
  const KernelTable* t = find(name);
  if (t) current.store(t, std::memory_order_release);
  return t != nullptr;
}

}  // namespace mlxu
