// mmusim-bench trace: how fast traces are read and replayed (docs/PERFORMANCE.md, Trace
// reading and replay).
//
// The parent writes one synthetic trace -- 4 vCPUs, each sweeping 16 MiB of its own in 8-byte
// reads and writes at a 64-byte stride with a random jump every 8th access and a compute gap
// after every 8 accesses, written in runs of 64 records per vCPU as a recorder flushing
// per-thread buffers would -- in five encodings: binary, binary.gz, text, text.gz and text.xz
// (gzip level 6 as gzip(1) by default; xz preset 1, to keep the set-up short). Then, each in a
// child process of its own, --repeat times:
//   read:   one reader over the whole file. The rate is records over the child's whole process
//           time, start-up included (the in-process rate is shown beside it).
//   demux:  the replay's read path alone: the demultiplexer feeding 4 consumers in turn.
//   replay: mmusim replaying the binary trace on 4 vCPUs. Its run time less the demux time is
//           the simulation's own cost per record.
#pragma once
#include <cstdint>
#include <string>

namespace mmusim_bench {

// The parent: writes the traces into a temporary directory, runs the children, prints the table
// (or one JSON object), removes the directory.
int trace_bench(int repeat, uint64_t records, bool json);

// A child: "trace-read:PATH", "trace-demux:PATH" or "trace-replay:PATH". Prints its figures on
// stdout; returns the exit status.
int trace_child(const std::string& scenario);

}  // namespace mmusim_bench
