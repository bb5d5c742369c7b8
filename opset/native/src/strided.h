// Reading MLX views (transposes, slices, broadcasts) into the row-major memory the kernels want.
#pragma once

#include <cstdint>

#include "mlx/array.h"

namespace mlxu {

namespace mx = mlx::core;

// Copies a float array of any rank and strides into dense row-major order, rows shared out over the pool.
void gather(const mx::array& a, float* dst);

}  // namespace mlxu
