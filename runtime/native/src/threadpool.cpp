#include "threadpool.h"

#include <chrono>
#include <cstdlib>
#include <string>

namespace mlxu {

namespace {
int env_int(const char* name, int fallback) {
  const char* s = std::getenv(name);
  if (!s || !*s) return fallback;
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  return (end && *end == '\0' && v >= 0 && v < 4096) ? static_cast<int>(v) : fallback;
}
}  // namespace

ThreadPool& ThreadPool::instance() {
  static ThreadPool pool;
  return pool;
}

ThreadPool::ThreadPool() {
  int cores = static_cast<int>(std::thread::hardware_concurrency());
  spin_us_ = env_int("MLX_UNIFACE_SPIN_US", 0);
  start(env_int("MLX_UNIFACE_NUM_THREADS", 0) > 0 ? env_int("MLX_UNIFACE_NUM_THREADS", 1) : (cores > 0 ? cores : 1));
}

ThreadPool::~ThreadPool() { stop(); }

void ThreadPool::start(int n) {
  num_threads_ = n < 1 ? 1 : n;
  quit_ = false;
  // Each worker starts from the generation current now, so a job (or stop) posted
  // before the thread first runs is not missed.
  const uint64_t now = generation_.load();
  for (int i = 1; i < num_threads_; ++i) workers_.emplace_back([this, now] { worker_loop(now); });
}

void ThreadPool::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    quit_ = true;
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void ThreadPool::set_num_threads(int n) {
  std::lock_guard<std::mutex> submit(submit_mutex_);
  if (n < 1) n = 1;
  if (n == num_threads_) return;
  stop();
  start(n);
}

void ThreadPool::run_chunks() {
  for (;;) {
    int64_t begin = next_.fetch_add(grain_);
    if (begin >= n_) break;
    int64_t end = begin + grain_ < n_ ? begin + grain_ : n_;
    (*body_)(begin, end);
  }
}

template <class Done>
bool ThreadPool::spin_until(Done done) {
  if (spin_us_ <= 0) return done();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us_);
  while (!done()) {
    for (int i = 0; i < 16; ++i) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#elif defined(__aarch64__)
      __asm__ __volatile__("yield");
#endif
    }
    if (std::chrono::steady_clock::now() > deadline) return done();
  }
  return true;
}

void ThreadPool::worker_loop(uint64_t seen) {
  for (;;) {
    // Spin briefly: kernels arrive back to back during a forward pass.
    spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; });
    if (generation_.load(std::memory_order_acquire) == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return generation_.load() != seen || quit_.load(); });
    }
    seen = generation_.load();
    if (quit_) return;
    run_chunks();
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mutex_);
      wake_.notify_all();
    }
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const Body& body) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  if (num_threads_ == 1 || n <= grain) {
    body(0, n);
    return;
  }
  std::lock_guard<std::mutex> submit(submit_mutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    body_ = &body;
    n_ = n;
    grain_ = grain;
    next_.store(0);
    pending_.store(num_threads_ - 1);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  run_chunks();
  // Wait for the workers to finish their chunks (they may still hold one).
  spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; });
  if (pending_.load(std::memory_order_acquire) > 0) {
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait(lock, [&] { return pending_.load() == 0; });
  }
  body_ = nullptr;
}

}  // namespace mlxu
