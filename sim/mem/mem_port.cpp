#include "sim/mem/mem_port.hpp"

namespace mmusim {

// One payload per port, built once: the extension stays attached for the port's lifetime, so an
// access costs no allocation and no extension-table update.
MemPort::MemPort(sc_core::sc_module_name name, int cpu, const Clock& clock)
    : sc_core::sc_module(name), socket("socket"), clock_(clock), ext_(new MemExt) {
  ext_->cpu = cpu;
  trans_.set_extension(ext_);
  trans_.set_data_ptr(reinterpret_cast<unsigned char*>(&data_));
  trans_.set_data_length(sizeof data_);
  trans_.set_streaming_width(sizeof data_);
  trans_.set_byte_enable_ptr(nullptr);
  trans_.set_byte_enable_length(0);
  trans_.set_dmi_allowed(false);
}

MemPort::~MemPort() {
  // Detach before deleting: the payload's destructor would otherwise free the extension itself,
  // and we keep the pointer as its owner.
  trans_.clear_extension(ext_);
  delete ext_;
}

uint64_t MemPort::issue_tlm(Addr addr, sc_core::sc_time& delay) {
  trans_.set_address(addr);
  // The command is informational for generic TLM tools; the memory system acts on ext_->op.
  trans_.set_command(ext_->op == MemOp::Read ? tlm::TLM_READ_COMMAND : tlm::TLM_WRITE_COMMAND);
  trans_.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  ext_->result = 0;
  data_ = ext_->value;
  socket->b_transport(trans_, delay);
  if (trans_.get_response_status() != tlm::TLM_OK_RESPONSE)
    SC_REPORT_ERROR(name(), ("memory access failed: " + trans_.get_response_string()).c_str());
  return ext_->result;
}

uint64_t MemPort::write_data(Addr addr, bool cacheable, sc_core::sc_time& delay) {
  return issue(addr, cacheable ? MemOp::DataWrite : MemOp::DataWriteNc, MemClass::Data, 0, 0,
               delay);
}

MemPort::DataVersion MemPort::read_data(Addr addr, bool cacheable, sc_core::sc_time& delay) {
  DataVersion v;
  v.seen = issue(addr, cacheable ? MemOp::DataRead : MemOp::DataReadNc, MemClass::Data, 0, 0,
                 delay);
  v.latest = ext_->latest;
  return v;
}

uint64_t MemPort::cmo(Addr addr, uint64_t len, MemOp op, sc_core::sc_time& delay) {
  return issue(addr, op, MemClass::Data, len, 0, delay);
}

}  // namespace mmusim
