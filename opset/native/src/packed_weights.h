// Dense weights in the GEMM's panel layout, packed once per weight array rather than on every call.
#pragma once

#include <memory>

#include "kernels.h"
#include "mlx/array.h"

namespace mlxu {

namespace mx = mlx::core;

// The HWIO weights at `data` packed by k.dense_pack for shape s. When `owner` (the row-contiguous array
// `data` belongs to) is given, the result is cached under its buffer, and the entry holds a reference
// to `owner`, so that buffer cannot be freed and reused for other values while cached (MLX arrays are
// immutable). The cache keeps at most a byte limit (MLX_UNIFACE_WEIGHT_CACHE_MB, default 256 MB: a
// ResNet-50's weights fit twice), evicting the least recently used; a weight larger than the limit,
// or without an owner, is packed into a per-thread buffer, reused by the thread once the result is released.
std::shared_ptr<const float> packed_dense_weights(const float* data, const mx::array* owner, const KernelTable& k,
                                                  const ConvShape& s);

// Bytes of packed weights cached now, and the limit (shrinking it evicts at once).
size_t packed_weights_bytes();
void set_packed_weights_limit(size_t bytes);

// Drops every entry (and with them the references to the weights).
void clear_packed_weights();

constexpr size_t kDefaultPackedCacheBytes = size_t{256} << 20;

}  // namespace mlxu
