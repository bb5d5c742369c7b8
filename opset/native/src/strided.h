// Reading MLX views (transposes, slices, broadcasts) into the row-major memory the kernels want.
#pragma once

#include <cstdint>

#include "mlx/array.h"

namespace mlxu {

namespace mx = mlx::core;

// Copies a float array of any rank and strides into dense row-major order, rows shared out over the pool.
void gather(const mx::array& a, float* dst);

// Distance in floats between consecutive rows (all axes but the last) when the last axis is unit-stride
// and the rows are evenly spaced (a contiguous array, or a slice of its last axis); 0 otherwise.
int64_t row_stride(const mx::array& a);

}  // namespace mlxu
