#include "borrowed.h"

#include <cstdint>
#include <mutex>
#include <vector>

#include "mlx/allocator.h"

namespace nb = nanobind;
namespace mx = mlx::core;

namespace mlxu {
namespace {

std::mutex released_mutex;
std::vector<PyObject*> released;  // owners whose buffers MLX has dropped: decref'd by release_borrowed()

// How far MLX's CPU Buffer places its data after the pointer it wraps (0, or 8 where the allocator keeps
// the size in front), read off a real allocation; wrapping p - offset makes raw_ptr() == p. -1: anything
// else (a GPU allocator's buffers wrap device objects, never host memory).
std::ptrdiff_t data_offset() {
  static const std::ptrdiff_t offset = [] {
    mx::allocator::Data probe = mx::allocator::malloc(64);
    mx::allocator::Buffer b = probe.buffer();
    const std::ptrdiff_t d = static_cast<char*>(b.raw_ptr()) - static_cast<const char*>(b.ptr());
    return d == 0 || d == static_cast<std::ptrdiff_t>(sizeof(size_t)) ? d : -1;
  }();
  return offset;
}

std::optional<mx::Dtype> mlx_dtype(const nb::dlpack::dtype& t) {
  using Code = nb::dlpack::dtype_code;
  if (t.lanes != 1) return std::nullopt;
  const auto code = static_cast<Code>(t.code);
  if (code == Code::Float && t.bits == 32) return mx::float32;
  if (code == Code::Float && t.bits == 16) return mx::float16;
  if (code == Code::UInt && t.bits == 8) return mx::uint8;
  if (code == Code::Int && t.bits == 8) return mx::int8;
  if (code == Code::Int && t.bits == 32) return mx::int32;
  if (code == Code::Int && t.bits == 64) return mx::int64;
  return std::nullopt;  // float64 and bool keep mx.array's own conversion
}

}  // namespace

std::optional<mx::array> borrow_numpy(nb::ndarray<nb::ro, nb::c_contig, nb::device::cpu> a, nb::handle owner) {
  const auto dtype = mlx_dtype(a.dtype());
  if (!dtype || data_offset() < 0 || a.size() == 0) return std::nullopt;
  mx::Shape shape;
  for (size_t i = 0; i < a.ndim(); ++i) {
    if (a.shape(i) > static_cast<size_t>(INT32_MAX)) return std::nullopt;
    shape.push_back(static_cast<int>(a.shape(i)));
  }
  char* data = const_cast<char*>(static_cast<const char*>(a.data()));
  PyObject* kept = owner.ptr();
  Py_INCREF(kept);
  mx::allocator::Data buffer(mx::allocator::Buffer(data - data_offset()), [kept](mx::allocator::Buffer) {
    std::lock_guard<std::mutex> lock(released_mutex);
    released.push_back(kept);
  });
  return mx::array(std::move(buffer), std::move(shape), *dtype);
}

int release_borrowed() {
  std::vector<PyObject*> owners;
  {
    std::lock_guard<std::mutex> lock(released_mutex);
    owners.swap(released);
  }
  for (PyObject* o : owners) Py_DECREF(o);
  return static_cast<int>(owners.size());
}

}  // namespace mlxu
