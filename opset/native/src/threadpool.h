// One pool for every kernel. The calling thread (MLX's stream thread) works too.
//
// After a job, workers spin for the next one for MLX_UNIFACE_SPIN_US microseconds
// (default 300), yielding the core on each poll, then sleep on a condition variable
// (MLX_UNIFACE_SPIN_US=0: sleep at once). Measured on 2 vCPUs (docs/benchmarks.md):
// a sleeping worker's vCPU halts and takes tens of microseconds to wake, a large share
// of a 50-300 us kernel, so spinning through a forward pass is 10-13% faster end to
// end on an idle machine; with another process holding a core the two are within
// noise of each other (up to 12% either way by model). onnxruntime's own pool spins
// far longer (about 20 ms after each run).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mlxu {

constexpr int kDefaultSpinUs = 300;

class ThreadPool {
 public:
  // Work items [begin, end) of a job; called concurrently from several threads.
  using Body = std::function<void(int64_t begin, int64_t end)>;

  static ThreadPool& instance();

  // Runs body over [0, n) in chunks of `grain` items. Thread t owns the t-th contiguous share of
  // [0, n) and claims chunks from it first, then helps with the others' shares: consecutive
  // kernels split the image the same way, so each thread mostly reads what it wrote itself, from
  // its own core's cache (claiming every chunk from one shared counter interleaved the threads,
  // and half of every read came from the other core: depthwise convs did not speed up at all).
  static constexpr int kMaxShares = 64;
  void parallel_for(int64_t n, int64_t grain, const Body& body);

  int num_threads() const { return num_threads_; }
  void set_num_threads(int n);
  int spin_us() const { return spin_us_; }
  // Share of the last parallel job's items that pool workers ran (profiling: do they take part?).
  double last_worker_share() const { return last_worker_share_.load(std::memory_order_relaxed); }
  void set_spin_us(int us) { spin_us_ = us; }

  ~ThreadPool();

 private:
  // One parallel_for call. Lives on the submitter's stack; workers find it through job_, so
  // the submitter never waits for a worker that is still asleep: it waits only for chunks that
  // were claimed, and for stragglers that read job_ just as it finished (active_ counts workers
  // between announcing themselves and letting go of the job; it lives in the pool, so a worker
  // never touches a job that may already be gone).
  struct Share {  // one thread's contiguous part of the items, on its own cache line
    alignas(64) std::atomic<int64_t> next{0};  // first unclaimed item
    int64_t end = 0;
  };
  struct Job {
    const Body* body;
    int64_t n, grain;
    int shares;
    Share share[kMaxShares];
    alignas(64) std::atomic<int64_t> done{0};  // items finished
    std::atomic<int64_t> by_workers{0};         // items finished by pool workers (not the submitter)
  };

  ThreadPool();
  void start(int n);
  void stop();
  void worker_loop(uint64_t seen, int id);
  // Busy-waits up to spin_us for done(); true if it came.
  template <class Done>
  bool spin_until(Done done);
  // id: 0 the submitter, 1.. the workers
  void run_job(Job& job, int id);

  int num_threads_ = 1;
  int spin_us_ = 0;
  std::vector<std::thread> workers_;
  std::mutex submit_mutex_;  // one job at a time (several MLX streams may submit)
  std::mutex mutex_;
  std::condition_variable wake_;     // workers: a new job (generation_ moved) or quit
  std::condition_variable finished_;  // the submitter: the last claimed chunk finished
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> quit_{false};
  std::atomic<Job*> job_{nullptr};
  std::atomic<double> last_worker_share_{0.0};
  alignas(64) std::atomic<int> active_{0};  // workers that may be reading job_ or the job it points to
};

}  // namespace mlxu
