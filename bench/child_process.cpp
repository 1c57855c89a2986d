#include "bench/child_process.hpp"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace mmusim_bench {

ChildRun run_child(const std::string& scenario) {
  const char* self = "/proc/self/exe";
  int fds[2];
  if (pipe(fds) != 0) {
    std::perror("pipe");
    std::exit(1);
  }
  const auto t0 = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    execl(self, self, "--child", scenario.c_str(), (char*)nullptr);
    std::perror("execl");
    _exit(127);
  }
  close(fds[1]);
  ChildRun run;
  char buf[256];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) run.out.append(buf, size_t(n));
  close(fds[0]);
  int status = 0;
  struct rusage ru {};
  wait4(pid, &status, 0, &ru);
  run.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::cerr << "mmusim-bench: scenario " << scenario << " failed\n";
    std::exit(1);
  }
  run.max_rss_kib = double(ru.ru_maxrss);
  return run;
}

}  // namespace mmusim_bench
