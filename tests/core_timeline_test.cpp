// Timeline: Chrome trace-event JSON that parses, names its tracks and converts cycles to
// microseconds with the clock.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/error.hpp"
#include "sim/core/timeline.hpp"

namespace mmusim {
namespace {

// A strict little JSON recogniser (RFC 8259 grammar, no semantic checks): enough to prove the
// file would load in a trace viewer without depending on a JSON library.
class JsonChecker {
 public:
  explicit JsonChecker(const std::string& s) : s_(s) {}
  bool valid() {
    ws();
    if (!value()) return false;
    ws();
    return i_ == s_.size();
  }

 private:
  bool value() {
    if (i_ >= s_.size()) return false;
    switch (s_[i_]) {
      case '{':
        return container('}', true);
      case '[':
        return container(']', false);
      case '"':
        return string();
      case 't':
        return word("true");
      case 'f':
        return word("false");
      case 'n':
        return word("null");
      default:
        return number();
    }
  }
  bool container(char close, bool object) {
    ++i_;
    ws();
    if (peek() == close) return ++i_, true;
    for (;;) {
      ws();
      if (object) {
        if (!string()) return false;
        ws();
        if (peek() != ':') return false;
        ++i_;
        ws();
      }
      if (!value()) return false;
      ws();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      if (peek() != close) return false;
      ++i_;
      return true;
    }
  }
  bool string() {
    if (peek() != '"') return false;
    for (++i_; i_ < s_.size(); ++i_) {
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') return ++i_, true;
      if (c < 0x20) return false;
      if (c == '\\') {
        ++i_;
        if (peek() == 'u') {
          for (int k = 0; k < 4; ++k) {
            ++i_;
            if (!std::isxdigit(static_cast<unsigned char>(peek()))) return false;
          }
        } else if (std::string("\"\\/bfnrt").find(peek()) == std::string::npos || peek() == 0) {
          return false;
        }
      }
    }
    return false;
  }
  bool number() {
    const size_t start = i_;
    if (peek() == '-') ++i_;
    if (!digits()) return false;
    if (s_[start + (s_[start] == '-')] == '0' && i_ - start > 1u + (s_[start] == '-')) return false;
    if (peek() == '.') {
      ++i_;
      if (!digits()) return false;
    }
    if (peek() == 'e' || peek() == 'E') {
      ++i_;
      if (peek() == '+' || peek() == '-') ++i_;
      if (!digits()) return false;
    }
    return true;
  }
  bool digits() {
    const size_t start = i_;
    while (std::isdigit(static_cast<unsigned char>(peek()))) ++i_;
    return i_ > start;
  }
  bool word(const char* w) {
    const std::string s(w);
    if (s_.compare(i_, s.size(), s) != 0) return false;
    i_ += s.size();
    return true;
  }
  void ws() {
    while (peek() == ' ' || peek() == '\n' || peek() == '\t' || peek() == '\r') ++i_;
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }

  const std::string& s_;
  size_t i_ = 0;
};

bool valid_json(const std::string& s) { return JsonChecker(s).valid(); }

class TimelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "mmusim_tl_XXXXXX";
    const char* made = mkdtemp(tmpl.data());
    ASSERT_NE(made, nullptr);
    dir_ = made;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string write(const Timeline& t, double ghz) {
    const std::string path = dir_ + "/trace.json";
    t.write(path, ghz);
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string dir_;
};

TEST(JsonCheckerTest, RejectsBrokenJson) {
  EXPECT_TRUE(valid_json("{\"a\":[1,2.5,-3e2,\"x\\n\",true,null],\"b\":{}}"));
  EXPECT_FALSE(valid_json("{\"a\":1,}"));
  EXPECT_FALSE(valid_json("{\"a\":01}"));
  EXPECT_FALSE(valid_json("[1 2]"));
  EXPECT_FALSE(valid_json("{\"a\":\"unterminated}"));
  EXPECT_FALSE(valid_json("{\"a\":1}}"));
}

TEST_F(TimelineTest, WritesTracksAndSpansAtTwoGigahertz) {
  Timeline t(true);
  const int v0 = t.track("vcpu.0");
  const int host = t.track("host.mm");
  EXPECT_EQ(v0, 0);
  EXPECT_EQ(host, 1);
  t.span(v0, "ept_fault", 1000, 3000);  // 0.5 us .. 1.5 us at 2 GHz
  t.span(host, "mmu_lock_wait", 3, 4);  // one cycle = 0.0005 us
  EXPECT_EQ(t.size(), 2u);
  const std::string j = write(t, 2.0);
  EXPECT_TRUE(valid_json(j)) << j;
  EXPECT_EQ(j.rfind("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", 0), 0u) << j;
  EXPECT_NE(j.find("{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":0,"
                   "\"args\":{\"name\":\"vcpu.0\"}}"),
            std::string::npos)
      << j;
  EXPECT_NE(j.find("\"tid\":1,\"args\":{\"name\":\"host.mm\"}"), std::string::npos) << j;
  EXPECT_NE(j.find("{\"ph\":\"X\",\"name\":\"ept_fault\",\"pid\":1,\"tid\":0,"
                   "\"ts\":0.500000,\"dur\":1.000000}"),
            std::string::npos)
      << j;
  EXPECT_NE(j.find("\"name\":\"mmu_lock_wait\",\"pid\":1,\"tid\":1,\"ts\":0.001500,"
                   "\"dur\":0.000500}"),
            std::string::npos)
      << j;
}

// Several VMs (docs/ARCHITECTURE.md, Several VMs): a viewer groups threads by process, so each
// VM's tracks are a process of their own and the host-wide ones stay in process 1.
TEST_F(TimelineTest, EachVmsTracksAreAProcessOfTheirOwn) {
  Timeline t(true);
  const int host = t.track("rcu.gp");
  const int a = t.track("vm.0.vcpu.0");
  const int b = t.track("vm.1.vcpu.0");
  const int c = t.track("vm.1.host.vmm");
  const int odd = t.track("vm.x.not_a_vm");
  t.span(b, "tdp fault", 1, 2);
  const std::string j = write(t, 1.0);
  EXPECT_TRUE(valid_json(j)) << j;
  auto has = [&](const std::string& s) { return j.find(s) != std::string::npos; };
  EXPECT_TRUE(has("{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":1,\"args\":{\"name\":\"mmusim\"}}")) << j;
  EXPECT_TRUE(has("{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":2,\"args\":{\"name\":\"vm.0\"}}")) << j;
  EXPECT_TRUE(has("{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":3,\"args\":{\"name\":\"vm.1\"}}")) << j;
  for (auto [track, pid] : std::vector<std::pair<int, int>>{{host, 1}, {a, 2}, {b, 3}, {c, 3}, {odd, 1}})
    EXPECT_TRUE(has("\"thread_name\",\"pid\":" + std::to_string(pid) + ",\"tid\":" +
                    std::to_string(track) + ",")) << track << j;
  EXPECT_TRUE(has("\"name\":\"tdp fault\",\"pid\":3,\"tid\":" + std::to_string(b) + ",")) << j;
}

TEST_F(TimelineTest, ClockScalesTimes) {
  Timeline t(true);
  t.span(t.track("vcpu.0"), "work", 3000, 6000);
  EXPECT_NE(write(t, 1.0).find("\"ts\":3.000000,\"dur\":3.000000"), std::string::npos);
  EXPECT_NE(write(t, 3.0).find("\"ts\":1.000000,\"dur\":1.000000"), std::string::npos);
  // Large times keep full precision (no exponent notation).
  Timeline big(true);
  big.span(big.track("x"), "long", 123456789012345ull, 123456789012346ull);
  const std::string j = write(big, 1.0);
  EXPECT_NE(j.find("\"ts\":123456789012.345"), std::string::npos) << j;
  EXPECT_TRUE(valid_json(j));
}

TEST_F(TimelineTest, DisabledTimelineRecordsNothingButStillWritesValidJson) {
  Timeline t;
  EXPECT_FALSE(t.enabled());
  const int v = t.track("vcpu.0");
  t.span(v, "fault", 0, 10);
  EXPECT_EQ(t.size(), 0u);
  const std::string j = write(t, 1.0);
  EXPECT_TRUE(valid_json(j)) << j;
  EXPECT_EQ(j.find("\"ph\":\"X\""), std::string::npos);
}

TEST_F(TimelineTest, EmptyTimelineIsValid) {
  const std::string j = write(Timeline(true), 1.0);
  EXPECT_TRUE(valid_json(j)) << j;
}

TEST_F(TimelineTest, NamesAreEscaped) {
  Timeline t(true);
  t.span(t.track("odd \"track\"\\"), "a\tb", 0, 1);
  const std::string j = write(t, 1.0);
  EXPECT_TRUE(valid_json(j)) << j;
  EXPECT_NE(j.find("odd \\\"track\\\"\\\\"), std::string::npos) << j;
  EXPECT_NE(j.find("a\\tb"), std::string::npos) << j;
}

TEST_F(TimelineTest, CallerBugsAreModelErrors) {
  Timeline backwards(true);
  backwards.span(backwards.track("t"), "back", 10, 5);
  EXPECT_THROW(write(backwards, 1.0), ModelError);
  Timeline no_track(true);
  no_track.span(3, "orphan", 0, 1);
  EXPECT_THROW(write(no_track, 1.0), ModelError);
}

TEST_F(TimelineTest, UnwritablePathIsUsageErrorAndLeavesNoTemporary) {
  Timeline t(true);
  EXPECT_THROW(t.write(dir_ + "/missing/trace.json", 1.0), UsageError);
  const std::string path = dir_ + "/trace.json";
  t.write(path, 1.0);
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    ++entries;
    EXPECT_EQ(e.path().filename(), "trace.json");
  }
  EXPECT_EQ(entries, 1u);
}

}  // namespace
}  // namespace mmusim
