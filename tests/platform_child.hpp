// Runs a whole Platform in a forked child process and hands its results back, so one test can
// compare several runs (SystemC elaborates only once per process).
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <sstream>
#include <string>

#include "app/platform.hpp"

namespace mmusim::testing {

struct ChildRun {
  int exit_code = -1;
  std::string stats_json;
  std::string leaves;  // one "gpa level hpa perms" line per stage-2 leaf, in GPA order
};

inline ChildRun run_platform_in_child(const SimConfig& cfg) {
  int fds[2];
  if (pipe(fds) != 0) std::abort();
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    std::ostringstream out;
    int code = 0;
    try {
      Platform p(cfg);
      p.run();
      p.stats.write_json(out);
      out << "\n--LEAVES--\n";
      for (const Stage2Leaf& l : p.final_leaves)
        out << std::hex << l.gpa << " " << l.level << " " << l.hpa << " " << l.perms.read
            << l.perms.write << l.perms.exec << "\n";
    } catch (const std::exception& e) {
      out.str(std::string("exception: ") + e.what());
      code = 3;
    }
    std::string s = out.str();
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
  ChildRun r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  size_t cut = all.find("\n--LEAVES--\n");
  r.stats_json = all.substr(0, cut);
  if (cut != std::string::npos) r.leaves = all.substr(cut + 12);
  return r;
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
