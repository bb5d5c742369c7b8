#include "strided.h"

#include <vector>

#include "threadpool.h"

namespace mlxu {

int64_t row_stride(const mx::array& a) {
  const auto& shape = a.shape();
  const auto& st = a.strides();
  const int n = static_cast<int>(a.ndim());
  if (n == 0 || (st[n - 1] != 1 && shape[n - 1] > 1)) return 0;
  if (n == 1) return shape[0];
  const int64_t row = st[n - 2];
  int64_t expect = row;
  for (int i = n - 2; i >= 0; --i) {
    if (shape[i] > 1 && st[i] != expect) return 0;
    expect *= shape[i];
  }
  return row >= shape[n - 1] ? row : 0;
}


void gather(const mx::array& a, float* dst) {
  const float* src = a.data<float>();
  std::vector<int64_t> shape(a.shape().begin(), a.shape().end());
  std::vector<int64_t> strides(a.strides().begin(), a.strides().end());
  while (shape.size() < 2) {  // left-pad to 2-D
    shape.insert(shape.begin(), 1);
    strides.insert(strides.begin(), 0);
  }
  const size_t lead = shape.size() - 2;  // rows: every index but the last two
  int64_t rows = 1;
  for (size_t d = 0; d < lead; ++d) rows *= shape[d];
  const int64_t inner = shape[lead], last = shape[lead + 1];
  ThreadPool::instance().parallel_for(rows, 8, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* base = src;
      for (int64_t d = static_cast<int64_t>(lead) - 1, rest = r; d >= 0; --d) {
        base += (rest % shape[d]) * strides[d];
        rest /= shape[d];
      }
      float* out = dst + r * inner * last;
      for (int64_t i = 0; i < inner; ++i) {
        const float* p = base + i * strides[lead];
        for (int64_t j = 0; j < last; ++j) *out++ = p[j * strides[lead + 1]];
      }
    }
  });
}

}  // namespace mlxu
