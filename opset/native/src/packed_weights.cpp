#include "packed_weights.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <tuple>

namespace mlxu {

namespace {

constexpr size_t kAlign = 64;

std::shared_ptr<float> aligned_floats(size_t n) {
  void* p = std::aligned_alloc(kAlign, (n * sizeof(float) + kAlign - 1) / kAlign * kAlign);
  if (!p) throw std::bad_alloc();
  return std::shared_ptr<float>(static_cast<float*>(p), [](float* q) { std::free(q); });
}

// what the packed layout depends on: the table (its vector width), the weights, and the shape
using Key = std::tuple<const KernelTable*, const float*, int, int, int, int, bool, int>;

struct Entry {
  mx::array weights;  // keeps the buffer the key's pointer names alive
  std::shared_ptr<float> packed;  // shared with running kernels, so eviction never pulls it from under them
  size_t bytes;
  uint64_t last_use;
};

size_t default_limit() {
  const char* mb = std::getenv("MLX_UNIFACE_WEIGHT_CACHE_MB");
  if (mb && *mb) {
    char* end = nullptr;
    const long v = std::strtol(mb, &end, 10);
    if (end && *end == '\0' && v >= 0) return static_cast<size_t>(v) << 20;
  }
  return kDefaultPackedCacheBytes;
}

struct Cache {
  std::mutex mutex;
  std::map<Key, Entry> entries;
  size_t bytes = 0;
  size_t limit = default_limit();
  uint64_t clock = 0;

  // Least recently used entries out until `more` bytes fit; false if they cannot.
  bool make_room(size_t more) {
    if (more > limit) return false;
    while (bytes + more > limit && !entries.empty()) {
      auto oldest = entries.begin();
      for (auto it = entries.begin(); it != entries.end(); ++it)
        if (it->second.last_use < oldest->second.last_use) oldest = it;
      bytes -= oldest->second.bytes;
      entries.erase(oldest);
    }
    return true;
  }
};

// Never destroyed: entries hold MLX arrays, which must not outlive MLX's allocator at exit.
Cache& cache() {
  static Cache* c = new Cache;
  return *c;
}

}  // namespace

std::shared_ptr<const float> packed_dense_weights(const float* data, const mx::array* owner, const KernelTable& k,
                                                  const ConvShape& s) {
  const size_t n = k.dense_packed_size(s);
  const size_t bytes = n * sizeof(float);
  const Key key{&k, data, s.kh, s.kw, s.c_in, s.c_out, s.nchw, s.winograd};
  Cache& c = cache();
  bool cache_it = owner != nullptr;
  if (cache_it) {
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.entries.find(key);
    if (it != c.entries.end()) {
      it->second.last_use = ++c.clock;
      return it->second.packed;
    }
    cache_it = bytes <= c.limit;
  }
  if (!cache_it) {  // a per-thread buffer, reused once nobody holds the last result (a fused kernel packs two
                    // or three weights before it runs: each gets its own buffer while the others are held)
    thread_local std::shared_ptr<float> scratch;
    thread_local size_t capacity = 0;
    if (capacity < n || scratch.use_count() > 1) scratch = aligned_floats(n), capacity = n;
    k.dense_pack(s, data, scratch.get());
    return scratch;
  }
  std::shared_ptr<float> packed = aligned_floats(n);
  k.dense_pack(s, data, packed.get());
  std::lock_guard<std::mutex> lock(c.mutex);
  auto it = c.entries.find(key);  // another stream may have packed it meanwhile
  if (it != c.entries.end()) return it->second.packed;
  if (c.make_room(bytes)) {
    c.entries.emplace(key, Entry{*owner, packed, bytes, ++c.clock});
    c.bytes += bytes;
  }
  return packed;
}

size_t packed_weights_bytes() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.bytes;
}

void set_packed_weights_limit(size_t bytes) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.limit = bytes;
  c.make_room(0);
}

void clear_packed_weights() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.entries.clear();
  c.bytes = 0;
}

}  // namespace mlxu
