// Reads the per-op tables of docs/onnx-contract.md (inputs, attributes, outputs; the page states the table rules)
// and lists every difference from an op's spec in common/op_specs.h. Used by op_contract_doc_test.cc.
#pragma once

#include <string>
#include <vector>

#include "common/op_specs.h"

namespace glm_ops::test {

// One difference per entry, each naming the op and the row; empty when the page and the spec agree.
std::vector<std::string> CompareContractWithSpec(const std::string& markdown, const OpSpec& op);

// The "## <name>" sections of the page that carry an input table (the documented ops).
std::vector<std::string> DocumentedOps(const std::string& markdown);

}  // namespace glm_ops::test
