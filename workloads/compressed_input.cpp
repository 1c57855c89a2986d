#include "workloads/compressed_input.hpp"

#include <fcntl.h>
#include <lzma.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "sim/core/error.hpp"

namespace mmusim {

namespace {

constexpr unsigned char kGzipMagic[2] = {0x1f, 0x8b};
constexpr size_t kDirectReadBytes = size_t(64) << 10;
constexpr unsigned char kXzMagic[6] = {0xfd, '7', 'z', 'X', 'Z', 0x00};

bool starts_with(const char* p, size_t n, const unsigned char* magic, size_t m) {
  return n >= m && std::memcmp(p, magic, m) == 0;
}

}  // namespace

const char* encoding_name(CompressedInput::Encoding e) {
  switch (e) {
    case CompressedInput::Encoding::Plain: return "plain";
    case CompressedInput::Encoding::Gzip: return "gzip";
    case CompressedInput::Encoding::Xz: return "xz";
  }
  return "?";
}

// The decompressor state of the file's encoding (none for plain files).
struct CompressedInput::Decoder {
  z_stream z{};
  lzma_stream x = LZMA_STREAM_INIT;
  bool z_live = false, x_live = false;
  ~Decoder() {
    if (z_live) inflateEnd(&z);
    if (x_live) lzma_end(&x);
  }
};

CompressedInput::CompressedInput(const std::string& path, size_t block_bytes)
    : path_(path), in_(new char[block_bytes < 64 ? 64 : block_bytes]),
      in_cap_(block_bytes < 64 ? 64 : block_bytes) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) fail(std::string("cannot open: ") + std::strerror(errno));
  // Fill the first block far enough to see the longest magic (xz: 6 bytes).
  while (in_len_ < sizeof kXzMagic && refill()) {
  }
  if (starts_with(in_.get(), in_len_, kGzipMagic, sizeof kGzipMagic)) encoding_ = Encoding::Gzip;
  else if (starts_with(in_.get(), in_len_, kXzMagic, sizeof kXzMagic)) encoding_ = Encoding::Xz;
  if (encoding_ == Encoding::Plain) return;
  dec_.reset(new Decoder);
  if (encoding_ == Encoding::Gzip) {
    // 16 + 15: gzip wrapper only, the largest window.
    if (inflateInit2(&dec_->z, 16 + MAX_WBITS) != Z_OK) fail("cannot start the gzip decoder");
    dec_->z_live = true;
  } else {
    // Concatenated: several xz streams in one file decode as one, as xz(1) does.
    if (lzma_stream_decoder(&dec_->x, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK)
      fail("cannot start the xz decoder");
    dec_->x_live = true;
  }
}

CompressedInput::~CompressedInput() {
  if (fd_ >= 0) ::close(fd_);
}

void CompressedInput::fail(const std::string& what) const { throw UsageError(path_ + ": " + what); }

bool CompressedInput::refill() {
  if (file_ended_) return false;
  if (in_pos_ == in_len_) {
    file_offset_ += in_len_;
    in_pos_ = in_len_ = 0;
  }
  for (;;) {
    ssize_t n = ::read(fd_, in_.get() + in_len_, in_cap_ - in_len_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(std::string("read error: ") + std::strerror(errno));
    if (n == 0) {
      file_ended_ = true;
      return false;
    }
    in_len_ += size_t(n);
    return true;
  }
}

size_t CompressedInput::read(char* dst, size_t cap) {
  if (failure_) std::rethrow_exception(failure_);
  size_t got = 0;
  while (got < cap && !content_ended_) {
    size_t n;
    try {
      n = read_some(dst + got, cap - got);
    } catch (const UsageError&) {
      // Deliver what was decoded before the fault; the next read reports it, so a reader can
      // name the first record the fault cut off rather than one before it.
      if (got == 0) throw;
      failure_ = std::current_exception();
      break;
    }
    if (n == 0) content_ended_ = true;
    got += n;
  }
  content_offset_ += got;
  return got;
}

size_t CompressedInput::read_some(char* dst, size_t cap) {
  if (encoding_ == Encoding::Plain) {
    if (in_pos_ == in_len_ && cap >= kDirectReadBytes && !file_ended_) {
      // A large read of a plain file goes straight into the caller's buffer: no second copy.
      file_offset_ += in_len_;
      in_pos_ = in_len_ = 0;
      for (;;) {
        ssize_t n = ::read(fd_, dst, cap);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail(std::string("read error: ") + std::strerror(errno));
        if (n == 0) file_ended_ = true;
        file_offset_ += uint64_t(n);
        return size_t(n);
      }
    }
    if (in_pos_ == in_len_ && !refill()) return 0;
    size_t n = std::min(cap, in_len_ - in_pos_);
    std::memcpy(dst, in_.get() + in_pos_, n);
    in_pos_ += n;
    return n;
  }
  // Where a stream that ends early ends: the file's size.
  auto at_end = [this] { return " at byte " + std::to_string(file_offset_ + in_len_); };
  if (encoding_ == Encoding::Gzip) {
    z_stream& z = dec_->z;
    for (;;) {
      if (in_pos_ == in_len_) refill();
      z.next_in = reinterpret_cast<Bytef*>(in_.get() + in_pos_);
      z.avail_in = uInt(in_len_ - in_pos_);
      z.next_out = reinterpret_cast<Bytef*>(dst);
      z.avail_out = uInt(std::min<size_t>(cap, 1u << 30));
      int rc = inflate(&z, Z_NO_FLUSH);
      size_t used = (in_len_ - in_pos_) - z.avail_in;
      size_t made = std::min<size_t>(cap, 1u << 30) - z.avail_out;
      uint64_t where = file_offset_ + in_pos_ + used;
      in_pos_ += used;
      if (rc == Z_STREAM_END) {
        // Another gzip member may follow (concatenated files decompress as one, as gzip(1)).
        if (in_pos_ == in_len_) refill();
        if (in_pos_ == in_len_) return made;  // the end of the content, if made is 0
        if (!starts_with(in_.get() + in_pos_, in_len_ - in_pos_, kGzipMagic, 1))
          fail("data after the end of the gzip stream at byte " + std::to_string(where));
        inflateReset(&z);
        if (made) return made;
        continue;
      }
      if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT)
        fail(std::string("corrupt gzip data near byte ") + std::to_string(where) + ": " +
             (z.msg ? z.msg : "invalid data"));
      if (rc == Z_MEM_ERROR) fail("out of memory decompressing gzip");
      if (rc != Z_OK && rc != Z_BUF_ERROR) fail("gzip decoder error " + std::to_string(rc));
      if (made) return made;
      // No output and the file has no more bytes to give: the stream was cut short.
      if (file_ended_ && in_pos_ == in_len_)
        fail("gzip stream ends early (truncated file?)" + at_end());
    }
  }
  lzma_stream& x = dec_->x;
  for (;;) {
    if (in_pos_ == in_len_) refill();
    x.next_in = reinterpret_cast<const uint8_t*>(in_.get() + in_pos_);
    x.avail_in = in_len_ - in_pos_;
    x.next_out = reinterpret_cast<uint8_t*>(dst);
    x.avail_out = cap;
    lzma_ret rc = lzma_code(&x, file_ended_ && x.avail_in == 0 ? LZMA_FINISH : LZMA_RUN);
    size_t used = (in_len_ - in_pos_) - x.avail_in;
    size_t made = cap - x.avail_out;
    uint64_t where = file_offset_ + in_pos_ + used;
    in_pos_ += used;
    if (rc == LZMA_STREAM_END) return made;
    if (rc == LZMA_BUF_ERROR) fail("xz stream ends early (truncated file?)" + at_end());
    if (rc == LZMA_DATA_ERROR || rc == LZMA_FORMAT_ERROR || rc == LZMA_OPTIONS_ERROR)
      fail("corrupt xz data near byte " + std::to_string(where));
    if (rc == LZMA_MEM_ERROR || rc == LZMA_MEMLIMIT_ERROR) fail("out of memory decompressing xz");
    if (rc != LZMA_OK) fail("xz decoder error " + std::to_string(int(rc)));
    if (made) return made;
  }
}

}  // namespace mmusim
