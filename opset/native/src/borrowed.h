// numpy -> MLX without a copy: an MLX array over a C-contiguous numpy buffer (a network's input tensor).
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <optional>

#include "mlx/array.h"

namespace mlxu {

// An MLX array reading `a`'s memory in place, or nullopt when it cannot (a dtype MLX lacks, an MLX build
// whose buffers this does not know how to wrap). `owner` (the numpy array) is kept alive until MLX drops
// the buffer and the next release_borrowed() after that; the caller must not write to `a` while the result
// or anything computed from it may still be evaluated, and must hold a reference to the result while it is
// evaluated (an array MLX holds the only reference to may be donated: written over in place).
std::optional<mlx::core::array> borrow_numpy(nanobind::ndarray<nanobind::ro, nanobind::c_contig, nanobind::device::cpu> a,
                                             nanobind::handle owner);

// Drop the references to numpy arrays whose MLX buffers were freed (on the calling thread, which holds
// the GIL: MLX frees buffers on its own threads, where taking the GIL could deadlock). Returns how many.
int release_borrowed();

}  // namespace mlxu
