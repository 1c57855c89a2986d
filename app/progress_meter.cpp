#include "app/progress_meter.hpp"

#include <cstdio>
#include <sys/ioctl.h>
#include <unistd.h>

namespace mmusim {

namespace {
// Host seconds between two lines: a few per second in place on a terminal; fewer when each
// update is a line of its own, so a log of a long run stays short.
constexpr double kTerminalEvery = 0.25;
constexpr double kLogEvery = 5.0;

// The op stream of one vCPU, counted by the meter; the ops themselves are the workload's.
class CountedStream : public OpStream {
 public:
  CountedStream(std::unique_ptr<OpStream> ops, ProgressMeter& meter)
      : ops_(std::move(ops)), meter_(meter) {}
  // Not inlined into itself: GCC would otherwise guess the inner stream is counted too and
  // inline several nested levels, costing a dozen register saves per op.
  [[gnu::noinline]] bool next(Op& op) override {
    if (!ops_->next(op)) return false;
    meter_.op_taken();
    return true;
  }

 private:
  std::unique_ptr<OpStream> ops_;
  ProgressMeter& meter_;
};

// 12.3 k, 4.56 M: three significant digits and an SI prefix.
std::string si(double v) {
  const char* prefix = "";
  for (const char* p : {"k", "M", "G", "T"}) {
    if (v < 1000.0) break;
    v /= 1000.0;
    prefix = p;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, v >= 100.0 || !*prefix ? "%.0f %s" : "%.3g %s", v, prefix);
  return buf;
}

// 8s, 3m05s, 2h07m.
std::string duration(double s) {
  const uint64_t t = uint64_t(s + 0.5);
  char buf[32];
  if (t < 60)
    std::snprintf(buf, sizeof buf, "%llus", (unsigned long long)t);
  else if (t < 3600)
    std::snprintf(buf, sizeof buf, "%llum%02llus", (unsigned long long)(t / 60),
                  (unsigned long long)(t % 60));
  else
    std::snprintf(buf, sizeof buf, "%lluh%02llum", (unsigned long long)(t / 3600),
                  (unsigned long long)(t / 60 % 60));
  return buf;
}
}  // namespace

ProgressParams progress_params(const SimConfig& c) {
  ProgressParams p;
  p.terminal = isatty(STDERR_FILENO) != 0;
  p.enabled = c.progress == ProgressMode::On ||
              (c.progress == ProgressMode::Auto && p.terminal && !c.quiet);
  p.after_s = c.progress_after;
  p.clock_ghz = c.clock_ghz;
  return p;
}

ProgressMeter::ProgressMeter(const ProgressParams& p, const Clock& clock, WorkSize work)
    : p_(p), clock_(clock), work_(work) {
  start();
}

ProgressMeter::~ProgressMeter() { finish(); }

std::unique_ptr<OpStream> ProgressMeter::wrap(std::unique_ptr<OpStream> ops) {
  return std::make_unique<CountedStream>(std::move(ops), *this);
}

void ProgressMeter::start() {
  t0_ = std::chrono::steady_clock::now();
  next_ = t0_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(p_.after_s));
}

void ProgressMeter::poll() {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_) return;
  const double every = p_.terminal ? kTerminalEvery : kLogEvery;
  next_ = now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(every));
  show(line(std::chrono::duration<double>(now - t0_).count()));
}

std::string ProgressMeter::line(double host_s) const {
  // Most telling first: a terminal line is cut at the terminal's width.
  std::string s = "mmusim: ";
  if (work_.ops != 0) {
    const uint64_t done = ops_ < work_.ops ? ops_ : work_.ops;
    char share[32];
    std::snprintf(share, sizeof share, "%.1f%% of ", 100.0 * double(done) / double(work_.ops));
    s += share + std::to_string(work_.ops) + " " + work_.unit;
    if (done != 0) s += ", ETA " + duration(host_s * double(work_.ops - done) / double(done));
    s += " | ";
  }
  const uint64_t cycles = clock_.now();
  uint64_t faults = 0;
  for (const statistics::Counter* f : faults_) faults += f->value();
  const double secs = host_s > 0 ? host_s : 1e-9;
  char sim[64];
  std::snprintf(sim, sizeof sim, "%.6f s simulated (", double(cycles) / (p_.clock_ghz * 1e9));
  return s + sim + std::to_string(cycles) + " cycles), " + std::to_string(faults) + " faults | " +
         si(double(cycles) / secs) + "cycles/s, " + si(double(faults) / secs) + "faults/s";
}

void ProgressMeter::show(const std::string& text) {
  if (p_.terminal) {
    // Rewritten in place, so it must not wrap: cut to the terminal's width. Spaces cover what
    // is left of a longer previous line.
    winsize ws{};
    const bool known = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1;
    const size_t width = known ? ws.ws_col : 80;
    const std::string cut = text.substr(0, width - 1);
    const size_t pad = shown_ > cut.size() ? shown_ - cut.size() : 0;
    std::fprintf(stderr, "\r%s%*s", cut.c_str(), int(pad), "");
    shown_ = cut.size();
  } else {
    std::fprintf(stderr, "%s\n", text.c_str());
  }
  std::fflush(stderr);
}

void ProgressMeter::finish() {
  if (shown_ == 0) return;
  std::fprintf(stderr, "\r%*s\r", int(shown_), "");
  std::fflush(stderr);
  shown_ = 0;
}

}  // namespace mmusim
