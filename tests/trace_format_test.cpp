// The trace format: text and binary forms carry the same records (round trip through the
// converter's writer, plain and gzip), the per-thread filter, and one clear error naming
// file:line (or record offset) and field for every kind of bad input.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <fstream>
#include <string>
#include <vector>

#include "sim/core/error.hpp"
#include "workloads/trace_reader.hpp"
#include "workloads/trace_writer.hpp"

namespace mmusim {
namespace {

std::string tmp(const std::string& name) {
  return ::testing::TempDir() + "/trace_fmt_" + std::to_string(getpid()) + "_" + name;
}

std::string write_file(const std::string& name, const std::string& text) {
  std::string p = tmp(name);
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

const char* kAllKinds =
    "mmusim-trace 1\n"
    "space gva\n"
    "guest-mem 64M\n"
    "# comment line\n"
    "v0 r 0x7fff0000 8\n"
    "v1 w 0x400000 4   # trailing comment\n"
    "v0 x 0x401000\n"
    "v0 gap 120\n"
    "h0 gap 5000\n"
    "h0 unmap 0x200000 0x1000\n"
    "h0 change-pte 0x3000\n"
    "h0 age 0x0 0x200000\n"
    "h0 cow 0x5000\n"
    "h0 ksm-merge 0x3000 0x5000\n"
    "h1 swap-out 0x10000 0x4000\n"
    "h1 memslot-create 2 0x1000000 0x200000\n"
    "h1 memslot-delete 2\n"
    "h1 memslot-lock 1\n"
    "h1 dirty-log-clear 1 0x0 0x40000\n"
    "h1 mmap\n"
    "h0 munmap\n";

std::vector<std::string> lines_of(const std::string& path) {
  TraceReader rd(path);
  std::vector<std::string> out;
  TraceRecord r;
  while (rd.next(r)) out.push_back(trace_text_line(r));
  return out;
}

std::string convert(const std::string& in, const std::string& out, bool binary, bool gzip) {
  TraceReader rd(in);
  TraceHeader h = rd.header();
  h.binary = binary;
  TraceWriter wr(out, h, gzip);
  TraceRecord r;
  while (rd.next(r)) wr.write(r);
  wr.close();
  return out;
}

std::string error_of(const std::string& path) {
  try {
    TraceReader rd(path);
    TraceRecord r;
    while (rd.next(r)) {
    }
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(TraceFormat, TextAndBinaryPlainAndGzipCarryTheSameRecords) {
  std::string text = write_file("all.trace", kAllKinds);
  std::vector<std::string> want = lines_of(text);
  ASSERT_EQ(want.size(), 17u);
  EXPECT_EQ(want[15], "h1 mmap");
  EXPECT_EQ(want[16], "h0 munmap");
  EXPECT_EQ(want[0], "v0 r 0x7fff0000 8");
  EXPECT_EQ(want[2], "v0 x 0x401000");
  EXPECT_EQ(want[9], "h0 ksm-merge 0x3000 0x5000");
  std::string bin = convert(text, tmp("all.bin"), true, false);
  std::string bingz = convert(text, tmp("all.bin.gz"), true, true);
  std::string back = convert(bingz, tmp("back.trace.gz"), false, true);
  for (const std::string& p : {bin, bingz, back}) {
    EXPECT_EQ(lines_of(p), want) << p;
    TraceReader rd(p);
    EXPECT_EQ(rd.header().guest_mem, 64u << 20) << p;
    EXPECT_FALSE(rd.header().gpa_space) << p;
  }
  EXPECT_TRUE(TraceReader(bin).header().binary);
  EXPECT_FALSE(TraceReader(back).header().binary);
  // Binary is the compact form: fewer bytes than the text for the same records.
  std::ifstream a(text, std::ios::ate | std::ios::binary), b(bin, std::ios::ate | std::ios::binary);
  EXPECT_LT(b.tellg(), a.tellg());
}

TEST(TraceFormat, FilterReturnsOneThreadsRecordsInOrder) {
  std::string text = write_file("filter.trace", kAllKinds);
  std::string bin = convert(text, tmp("filter.bin"), true, false);
  for (const std::string& p : {text, bin}) {
    TraceReader rd(p);
    rd.only(false, 0);
    std::vector<std::string> got;
    TraceRecord r;
    while (rd.next(r)) got.push_back(trace_text_line(r));
    EXPECT_EQ(got, (std::vector<std::string>{"v0 r 0x7fff0000 8", "v0 x 0x401000", "v0 gap 120"})) << p;
  }
}

TEST(TraceFormat, AccessLinesReadTheSameWhateverTheirSpacing) {
  // The reader has a one-pass path for the common "vN op ADDR [SIZE]" line and a general one
  // for everything else: spacing, comments, leading zeros and case must not change a record.
  const std::string text = write_file("spacing.trace",
                                      "mmusim-trace 1\n"
                                      "v3 r 0x10\n"
                                      "v3 r 0x10 8\n"
                                      "v03 w 16 8\n"
                                      "v3  r 0x10 8\n"
                                      "\tv3 r 0x10 8\t# comment\n"
                                      "v3 x 0X1F 4096\n"
                                      "v3 r 0x10#comment\n"
                                      "v3 r 0x10 8 \r\n"
                                      "v3 r 0x000000000000000000010 0\n"
                                      "v3 w 18446744073709551615 1\n");
  std::vector<std::string> got;
  TraceReader rd(text);
  for (TraceRecord r; rd.next(r);) got.push_back(trace_text_line(r));
  EXPECT_EQ(got, (std::vector<std::string>{
                     "v3 r 0x10", "v3 r 0x10 8", "v3 w 0x10 8", "v3 r 0x10 8", "v3 r 0x10 8",
                     "v3 x 0x1f 4096", "v3 r 0x10", "v3 r 0x10 8", "v3 r 0x10",
                     "v3 w 0xffffffffffffffff 1"}));
  // One past the largest number, in either base, is an error rather than a wrapped address.
  for (const char* big : {"0x10000000000000000", "18446744073709551616"}) {
    std::string p = write_file("big.trace", std::string("mmusim-trace 1\nv0 r ") + big + " 8\n");
    EXPECT_NE(error_of(p).find(p + ":2: address: '" + big + "' is not a number"), std::string::npos)
        << error_of(p);
  }
}

TEST(TraceFormat, TextErrorsNameFileLineAndField) {
  const std::string head = "mmusim-trace 1\n";
  struct Case {
    std::string body, expect;
  } cases[] = {
      {"v0 r 0x10\nv0 jump 0x10\n", ":3: op: unknown operation 'jump'"},
      {"v0 r 0x1g\n", ":2: address: '0x1g' is not a number"},
      {"v0 gap\n", ":2: op: 'gap' takes 1 operand(s), got 0"},
      {"x0 r 0x10\n", ":2: thread: expected v<N>"},
      {"v5000 r 0x10\n", ":2: thread: 'v5000' is out of range"},
      {"v0 unmap 0x0 0x1000\n", ":2: op: host event 'unmap' must be on a host thread"},
      {"h0 r 0x0\n", ":2: op: host thread h0 cannot make guest accesses"},
      {"h0 ksm-merge 0x1000\n", ":2: op: 'ksm-merge' takes 2 operand(s), got 1"},
      {"v0 r 0x10 9000\n", ":2: size: 9000 bytes is more than one page"},
  };
  int i = 0;
  for (const Case& c : cases) {
    std::string p = write_file("bad" + std::to_string(i++) + ".trace", head + c.body);
    std::string e = error_of(p);
    EXPECT_NE(e.find(p + c.expect), std::string::npos) << e << "\nwanted: " << c.expect;
  }
  std::string v2 = write_file("v2.trace", "mmusim-trace 2\nv0 r 0x0\n");
  EXPECT_NE(error_of(v2).find(v2 + ":1: version: text trace version 2 is not supported"), std::string::npos)
      << error_of(v2);
  std::string junk = write_file("junk.trace", "hello world\n");
  EXPECT_NE(error_of(junk).find(":1: header: not an mmusim trace"), std::string::npos) << error_of(junk);
  EXPECT_NE(error_of(tmp("missing")).find(tmp("missing") + ": cannot open: No such file"), std::string::npos)
      << error_of(tmp("missing"));
}

TEST(TraceFormat, BinaryErrorsNameTheRecordOffset) {
  std::string text = write_file("b.trace", "mmusim-trace 1\nv0 r 0x12345678 8\nv0 w 0x1000 8\n");
  std::string bin = convert(text, tmp("b.bin"), true, false);
  std::string bytes;
  {
    std::ifstream in(bin, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  // Header 24 bytes; record 1: code, thread, 5-byte varint address, size = 8 bytes.
  std::string cut = write_file("cut.bin", bytes.substr(0, bytes.size() - 2));
  EXPECT_NE(error_of(cut).find(cut + ": record at byte 32: address: truncated record"), std::string::npos)
      << error_of(cut);
  std::string bad_code = bytes;
  bad_code[32] = char(0x7f);
  std::string bc = write_file("code.bin", bad_code);
  EXPECT_NE(error_of(bc).find(bc + ": record at byte 32: op: unknown record code 127"), std::string::npos)
      << error_of(bc);
  std::string v9 = bytes;
  v9[8] = 9;
  std::string pv9 = write_file("v9.bin", v9);
  EXPECT_NE(error_of(pv9).find("version: binary trace version 9 is not supported"), std::string::npos)
      << error_of(pv9);
  std::string short_header = write_file("short.bin", bytes.substr(0, 12));
  EXPECT_NE(error_of(short_header).find("header: truncated binary header"), std::string::npos)
      << error_of(short_header);
}

TEST(TraceFormat, TruncatedGzipIsAnErrorNotAShortTrace) {
  std::string text = tmp("big.trace");
  {
    std::ofstream out(text);
    out << "mmusim-trace 1\n";
    for (int i = 0; i < 20000; ++i) out << "v0 r 0x" << std::hex << (i * 4096 * 7 + 64) << std::dec << " 8\n";
  }
  std::string gz = convert(text, tmp("big.trace.gz"), false, true);
  std::string bytes;
  {
    std::ifstream in(gz, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::string cut = write_file("cut.trace.gz", bytes.substr(0, bytes.size() / 2));
  // Every record decoded before the cut is read; the error names the first line it cut off
  // (the writer's header is two lines, "mmusim-trace 1" and "space gva").
  uint64_t read = 0;
  std::string error;
  try {
    TraceReader rd(cut);
    for (TraceRecord r; rd.next(r);) ++read;
  } catch (const UsageError& e) {
    error = e.what();
  }
  EXPECT_GT(read, 5000u);
  EXPECT_LT(read, 20000u);
  EXPECT_NE(error.find(cut + ":" + std::to_string(read + 3) + ": input: gzip stream ends early"),
            std::string::npos)
      << error << " after " << read << " records";
  EXPECT_EQ(lines_of(gz).size(), 20000u);
}

}  // namespace
}  // namespace mmusim

TEST(TraceFormat, RejectedTracesCloseTheirFile) {
  // A reader whose header is refused must not keep its file open (fuzzing ran out of file
  // descriptors on this): count this process's open descriptors around many rejections.
  auto open_fds = [] {
    size_t n = 0;
    for (int fd = 0; fd < 4096; ++fd) n += (fcntl(fd, F_GETFD) != -1);
    return n;
  };
  const std::string path = ::testing::TempDir() + "bad_header.trace";
  {
    std::ofstream f(path, std::ios::binary);
    f << "MMUSIMTR\x07";  // the magic, then a truncated header
  }
  const size_t before = open_fds();
  for (int i = 0; i < 200; ++i)
    EXPECT_THROW(mmusim::TraceReader r(path), mmusim::UsageError);
  EXPECT_EQ(open_fds(), before);
}
