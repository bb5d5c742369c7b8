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
  spin_us_ = env_int("MLX_UNIFACE_SPIN_US", kDefaultSpinUs);
  start(env_int("MLX_UNIFACE_NUM_THREADS", 0) > 0 ? env_int("MLX_UNIFACE_NUM_THREADS", 1) : (cores > 0 ? cores : 1));
}

ThreadPool::~ThreadPool() { stop(); }

void ThreadPool::start(int n) {
  num_threads_ = n < 1 ? 1 : n;
  quit_ = false;
  // Each worker starts from the generation current now, so a job (or stop) posted
  // before the thread first runs is not missed.
  const uint64_t now = generation_.load();
  for (int i = 1; i < num_threads_; ++i) workers_.emplace_back([this, now, i] { worker_loop(now, i); });
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

void ThreadPool::run_job(Job& job, int id) {
  // own share first, then the others' in turn
  for (int k = 0; k < job.shares; ++k) {
    Share& sh = job.share[(id + k) % job.shares];
    for (;;) {
      const int64_t begin = sh.next.fetch_add(job.grain, std::memory_order_relaxed);
      if (begin >= sh.end) break;
      const int64_t end = begin + job.grain < sh.end ? begin + job.grain : sh.end;
      (*job.body)(begin, end);
      if (id > 0) job.by_workers.fetch_add(end - begin, std::memory_order_relaxed);
      if (job.done.fetch_add(end - begin, std::memory_order_acq_rel) + (end - begin) == job.n) {
        std::lock_guard<std::mutex> lock(mutex_);  // the submitter may be waiting for this chunk
        finished_.notify_all();
      }
    }
  }
}

template <class Done>
bool ThreadPool::spin_until(Done done) {
  if (spin_us_ <= 0) return done();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us_);
  while (!done()) {
    // Yield rather than pause: a spinner keeps its core awake (a sleeping vCPU takes tens of
    // microseconds to wake), but lets any other runnable thread, such as the submitter, have it.
    std::this_thread::yield();
    if (std::chrono::steady_clock::now() > deadline) return done();
  }
  return true;
}

void ThreadPool::worker_loop(uint64_t seen, int id) {
  for (;;) {
    // Optionally spin first: kernels arrive back to back during a forward pass.
    spin_until([&] { return generation_.load(std::memory_order_acquire) != seen || quit_.load(); });
    if (generation_.load(std::memory_order_acquire) == seen && !quit_.load()) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return generation_.load() != seen || quit_.load(); });
    }
    seen = generation_.load(std::memory_order_acquire);
    if (quit_.load()) return;
    // Announce first, then look: the submitter clears job_ before waiting for active_ to drain,
    // so a job seen here stays alive until this worker lets go (seq_cst orders the two sides).
    active_.fetch_add(1, std::memory_order_seq_cst);
    if (Job* job = job_.load(std::memory_order_seq_cst)) run_job(*job, id);
    active_.fetch_sub(1, std::memory_order_release);
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const Body& body) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  if (num_threads_ == 1 || n <= grain) {
    last_worker_share_.store(0.0, std::memory_order_relaxed);
    body(0, n);
    return;
  }
  std::lock_guard<std::mutex> submit(submit_mutex_);
  Job job{&body, n, grain, num_threads_ < kMaxShares ? num_threads_ : kMaxShares, {}};
  for (int t = 0; t < job.shares; ++t) {
    job.share[t].next.store(n * t / job.shares, std::memory_order_relaxed);
    job.share[t].end = n * (t + 1) / job.shares;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_.store(&job, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  run_job(job, 0);
  // Wait for chunks other threads claimed (never for a worker that has not woken up yet).
  if (!spin_until([&] { return job.done.load(std::memory_order_acquire) == n; })) {
    std::unique_lock<std::mutex> lock(mutex_);
    finished_.wait(lock, [&] { return job.done.load(std::memory_order_acquire) == n; });
  }
  last_worker_share_.store(static_cast<double>(job.by_workers.load()) / static_cast<double>(n),
                           std::memory_order_relaxed);
  job_.store(nullptr, std::memory_order_seq_cst);
  // A worker may have read the pointer just now; it finds nothing to claim and lets go at once.
  while (active_.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
}

}  // namespace mlxu
