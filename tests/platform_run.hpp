// Runs a whole Platform in a forked child process and hands its results back, so one test can
// compare several runs (SystemC elaborates only once per process).
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <regex>
#include <sstream>
#include <string>
#include <utility>

#include "app/platform.hpp"

namespace mmusim::testing {

struct ChildRun {
  int exit_code = -1;
  std::string stats_json;
  std::string leaves;  // one "gpa level hpa perms" line per stage-2 leaf, in GPA order
};

// Forks; the child runs `body`, which fills its output and returns its exit status (an
// exception becomes "exception: <what>" with status 3). Returns the status (128 if the child
// died) and the output.
inline std::pair<int, std::string> fork_child(const std::function<int(std::string&)>& body) {
  int fds[2];
  if (pipe(fds) != 0) std::abort();
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    std::string s;
    int code;
    try {
      code = body(s);
    } catch (const std::exception& e) {
      s = std::string("exception: ") + e.what();
      code = 3;
    }
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = write(fds[1], s.data() + off, s.size() - off);
      if (n <= 0) break;
      off += size_t(n);
    }
    close(fds[1]);
    _exit(code);
  }
  close(fds[1]);
  std::string all;
  char buf[65536];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) all.append(buf, size_t(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128, all};
}

inline ChildRun run_platform_in_child(const SimConfig& cfg) {
  auto [code, all] = fork_child([&](std::string& s) {
    Platform p(cfg);
    p.run();
    std::ostringstream out;
    p.stats.write_json(out);
    out << "\n--LEAVES--\n";
    for (const Stage2Leaf& l : p.final_leaves)
      out << std::hex << l.gpa << " " << l.level << " " << l.hpa << " " << l.perms.read
          << l.perms.write << l.perms.exec << "\n";
    s = out.str();
    return 0;
  });
  ChildRun r;
  r.exit_code = code;
  size_t cut = all.find("\n--LEAVES--\n");
  r.stats_json = all.substr(0, cut);
  if (cut != std::string::npos) r.leaves = all.substr(cut + 12);
  return r;
}

// Runs `body` in a forked child process and returns what it returned (or "exception: <what>" if
// it threw), for tests that build their own Platform (hooks, extra output) in the child.
inline std::string run_in_child(const std::function<std::string()>& body) {
  return fork_child([&](std::string& s) {
           s = body();
           return 0;
         }).second;
}

// Value of a counter (or of a histogram field, e.g. key "walk.refs" field "max") in stats JSON.
inline double stat(const std::string& json, const std::string& key, const std::string& field = "") {
  std::string pat = "\"" + std::regex_replace(key, std::regex(R"([.])"), R"(\.)") + "\": ";
  if (field.empty()) pat += "([0-9.]+)";
  else pat += "\\{[^}]*\"" + field + "\": ([0-9.]+)";
  std::smatch m;
  if (!std::regex_search(json, m, std::regex(pat))) return -1;
  return std::stod(m[1]);
}

}  // namespace mmusim::testing
