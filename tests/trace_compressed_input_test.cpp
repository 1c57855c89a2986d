// The compressed-input layer under the trace readers and importers: plain, gzip and xz files
// (told apart by their first bytes) give back exactly their content, whatever the caller's read
// size; line splitting agrees with Python's universal newlines; a truncated or corrupt gzip or
// xz stream is a UsageError naming the file and where it ends.
#include <gtest/gtest.h>
#include <lzma.h>
#include <unistd.h>
#include <zlib.h>

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "sim/core/error.hpp"
#include "workloads/compressed_input.hpp"
#include "workloads/line_source.hpp"

namespace mmusim {
namespace {

std::string tmp(const std::string& name) {
  return ::testing::TempDir() + "/cin_" + std::to_string(getpid()) + "_" + name;
}

std::string write_bytes(const std::string& name, const std::string& bytes) {
  std::string p = tmp(name);
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

std::string gzip_of(const std::string& s) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, uLong(s.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
  z.avail_in = uInt(s.size());
  z.next_out = reinterpret_cast<Bytef*>(&out[0]);
  z.avail_out = uInt(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string xz_of(const std::string& s) {
  std::string out(lzma_stream_buffer_bound(s.size()), '\0');
  size_t n = 0;
  EXPECT_EQ(lzma_easy_buffer_encode(1, LZMA_CHECK_CRC64, nullptr,
                                    reinterpret_cast<const uint8_t*>(s.data()), s.size(),
                                    reinterpret_cast<uint8_t*>(&out[0]), &n, out.size()),
            LZMA_OK);
  out.resize(n);
  return out;
}

// Over 1 MiB of mixed content: longer than one block, partly compressible.
const std::string& content() {
  static std::string s;
  if (!s.empty()) return s;
  std::mt19937_64 rng(7);
  while (s.size() < (size_t(3) << 19)) {
    s += "v0 r 0x" + std::to_string(rng() % 100000) + " 8\n";
    if (rng() % 16 == 0) s.push_back(char(rng()));
  }
  return s;
}

std::string read_all(const std::string& path, size_t chunk, size_t block = size_t(1) << 20) {
  CompressedInput in(path, block);
  std::string got;
  std::vector<char> buf(chunk);
  for (size_t n; (n = in.read(buf.data(), chunk)) > 0;) {
    got.append(buf.data(), n);
    if (n < chunk) {
      EXPECT_EQ(in.read(buf.data(), chunk), 0u);  // short only at the end
    }
  }
  EXPECT_EQ(in.content_offset(), got.size());
  return got;
}

TEST(CompressedInput, PlainGzipAndXzGiveBackTheContentAtAnyReadSize) {
  const std::string s = content();
  const std::string plain = write_bytes("p", s), gz = write_bytes("g", gzip_of(s)),
                    xz = write_bytes("x", xz_of(s));
  EXPECT_EQ(CompressedInput(plain).encoding(), CompressedInput::Encoding::Plain);
  EXPECT_EQ(CompressedInput(gz).encoding(), CompressedInput::Encoding::Gzip);
  EXPECT_EQ(CompressedInput(xz).encoding(), CompressedInput::Encoding::Xz);
  for (size_t chunk : {size_t(1) << 20, size_t(4093), size_t(64)}) {
    EXPECT_EQ(read_all(plain, chunk), s) << chunk;
    EXPECT_EQ(read_all(gz, chunk), s) << chunk;
    EXPECT_EQ(read_all(xz, chunk), s) << chunk;
  }
  // Small file-side blocks: the decoders' input is refilled many times.
  EXPECT_EQ(read_all(gz, 1000, 100), s);
  EXPECT_EQ(read_all(xz, 1000, 100), s);
}

TEST(CompressedInput, EmptyAndTinyFiles) {
  EXPECT_EQ(read_all(write_bytes("e", ""), 100), "");
  EXPECT_EQ(read_all(write_bytes("t", "ab"), 100), "ab");
  EXPECT_EQ(read_all(write_bytes("ge", gzip_of("")), 100), "");
  EXPECT_EQ(read_all(write_bytes("xe", xz_of("")), 100), "");
}

TEST(CompressedInput, ConcatenatedStreamsReadAsOne) {
  EXPECT_EQ(read_all(write_bytes("gg", gzip_of("first\n") + gzip_of("second\n")), 3), "first\nsecond\n");
  EXPECT_EQ(read_all(write_bytes("xx", xz_of("first\n") + xz_of("second\n")), 3), "first\nsecond\n");
}

void expect_error(const std::string& path, const std::string& part) {
  try {
    read_all(path, 1 << 16);
    FAIL() << path << ": no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(CompressedInput, TruncatedStreamsAreErrorsNamingFileAndOffset) {
  const std::string s = content();
  const std::string gz = gzip_of(s), xz = xz_of(s);
  for (size_t keep : {gz.size() / 2, gz.size() - 4, size_t(10)}) {
    std::string p = write_bytes("gt" + std::to_string(keep), gz.substr(0, keep));
    expect_error(p, "gzip stream ends early (truncated file?) at byte " + std::to_string(keep));
  }
  for (size_t keep : {xz.size() / 2, xz.size() - 4, size_t(8)}) {
    std::string p = write_bytes("xt" + std::to_string(keep), xz.substr(0, keep));
    expect_error(p, "xz stream ends early (truncated file?) at byte " + std::to_string(keep));
  }
}

TEST(CompressedInput, CorruptStreamsAndMissingFilesAreErrors) {
  const std::string s = content();
  std::string gz = gzip_of(s), xz = xz_of(s);
  gz[gz.size() / 2] ^= 0x55;
  gz[gz.size() / 2 + 1] ^= 0x55;
  xz[xz.size() / 2] ^= 0x55;
  expect_error(write_bytes("gc", gz), "gzip");
  expect_error(write_bytes("xc", xz), "corrupt xz data near byte");
  expect_error(write_bytes("gj", gzip_of("a") + "junk"), "data after the end of the gzip stream");
  expect_error(tmp("missing"), "cannot open");
}

std::vector<std::string> lines_of(const std::string& path) {
  LineSource in(path);
  std::vector<std::string> out;
  const char *b, *e;
  while (in.next(b, e)) {
    out.emplace_back(b, e);
    EXPECT_EQ(in.line(), out.size());
  }
  return out;
}

TEST(LineSource, SplitsAtUniversalNewlinesAcrossBlocks) {
  using V = std::vector<std::string>;
  EXPECT_EQ(lines_of(write_bytes("l1", "a\nb\r\nc\rd")), (V{"a", "b", "c", "d"}));
  EXPECT_EQ(lines_of(write_bytes("l2", "\n\r\n\r")), (V{"", "", ""}));
  EXPECT_EQ(lines_of(write_bytes("l3", "")), V{});
  // A "\r\n" split across the 1 MiB read blocks is still one terminator.
  std::string big(size_t(2) << 20, 'x');
  big[(size_t(1) << 20) - 1] = '\r';
  big[size_t(1) << 20] = '\n';
  big[size_t(3) << 19] = '\n';
  std::vector<std::string> got = lines_of(write_bytes("l4", xz_of(big)));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].size(), (size_t(1) << 20) - 1);
  EXPECT_EQ(got[1].size(), (size_t(3) << 19) - (size_t(1) << 20) - 1);
}

TEST(LineSource, OverlongLineIsAnErrorNamingTheLine) {
  std::string p = write_bytes("long", "ok\n" + std::string(3000, 'y') + "\n");
  LineSource in(p, 1000);
  const char *b, *e;
  ASSERT_TRUE(in.next(b, e));
  try {
    in.next(b, e);
    FAIL() << "no error";
  } catch (const UsageError& err) {
    EXPECT_NE(std::string(err.what()).find(p + ":2: line longer than 1000 bytes"), std::string::npos)
        << err.what();
  }
}

}  // namespace
}  // namespace mmusim
