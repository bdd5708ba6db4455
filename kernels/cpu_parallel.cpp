#include "kernels/cpu_parallel.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace lowbit::kernels {
namespace {

thread_local bool inside_parallel_body = false;

class ThreadPool {
 public:
  explicit ThreadPool(int threads) {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ~ThreadPool() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& worker : workers_) worker.join();
  }

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Returns false (nothing run) when another call holds the pool.
  bool try_run(int64_t tasks, const std::function<void(int64_t)>& task) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      task_ = &task;
      tasks_ = tasks;
      next_ = 0;
      unfinished_ = tasks;
      ++generation_;
    }
    wake_.notify_all();
    run_tasks();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return unfinished_ == 0; });
    task_ = nullptr;
    return true;
  }

 private:
  void work() {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
      }
      run_tasks();
    }
  }

  void run_tasks() {
    for (;;) {
      int64_t index;
      const std::function<void(int64_t)>* task;
      {
        const std::lock_guard<std::mutex> lock(mutex_);
        if (task_ == nullptr || next_ >= tasks_) return;
        index = next_++;
        task = task_;
      }
      inside_parallel_body = true;
      (*task)(index);
      inside_parallel_body = false;
      const std::lock_guard<std::mutex> lock(mutex_);
      if (--unfinished_ == 0) done_.notify_all();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex busy_;  // one parallel_for at a time
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int64_t)>* task_ = nullptr;
  int64_t tasks_ = 0, next_ = 0, unfinished_ = 0;
  uint64_t generation_ = 0;
  bool stopping_ = false;
};

ThreadPool& pool() {
  static ThreadPool instance(std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, 16));
  return instance;
}

}  // namespace

int parallel_threads() { return pool().threads(); }

void parallel_for(int64_t count, int64_t min_per_task, const std::function<void(int64_t, int64_t)>& body) {
  if (count <= 0) return;
  const int64_t tasks = std::min<int64_t>(pool().threads(), std::max<int64_t>(1, count / std::max<int64_t>(1, min_per_task)));
  if (tasks <= 1 || inside_parallel_body) {
    body(0, count);
    return;
  }
  const int64_t per_task = (count + tasks - 1) / tasks;
  const std::function<void(int64_t)> task = [&](int64_t index) {
    const int64_t begin = index * per_task;
    const int64_t end = std::min(count, begin + per_task);
    if (begin < end) body(begin, end);
  };
  if (!pool().try_run(tasks, task)) body(0, count);
}

}  // namespace lowbit::kernels
