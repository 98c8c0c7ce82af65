// docs/onnx-contract.md against the op tables the library declares its ops from (common/op_specs.h): a change in
// either that the other does not follow fails here.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "common/op_specs.h"
#include "contract_tables.h"

namespace glm_ops {
namespace {

std::string ReadContract() {
  std::ifstream file(GLM_OPS_CONTRACT_DOC);
  EXPECT_TRUE(file.good()) << "cannot read " << GLM_OPS_CONTRACT_DOC;
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::string Join(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return text;
}

TEST(OpContractDoc, EveryOpsTablesMatchItsSpec) {
  const std::string page = ReadContract();
  for (const OpSpec* op : kAllOpSpecs) {
    const std::vector<std::string> diffs = test::CompareContractWithSpec(page, *op);
    EXPECT_TRUE(diffs.empty()) << Join(diffs);
  }
}

TEST(OpContractDoc, DocumentsExactlyTheOpsTheLibraryDeclares) {
  std::vector<std::string> declared;
  for (const OpSpec* op : kAllOpSpecs) declared.emplace_back(op->name);
  EXPECT_EQ(test::DocumentedOps(ReadContract()), declared);
}

// The comparison itself must see a change on either side: a page edit and a spec edit.
TEST(OpContractDoc, ComparisonReportsAPageThatDrifted) {
  std::string page = ReadContract();
  const std::string row = "| 1 | `correction_bias` | float | [n_experts] | device |";
  const size_t at = page.find(row);
  ASSERT_NE(at, std::string::npos);
  page.replace(at, row.size(), "| 1 | `correction_bias` (optional) | int32 | [n_experts] | host |");
  const std::vector<std::string> diffs = test::CompareContractWithSpec(page, kMoeRoutingSpec);
  EXPECT_EQ(diffs.size(), 3u) << Join(diffs);  // optional flag, type and memory
}

TEST(OpContractDoc, ComparisonReportsASpecThatDrifted) {
  const std::string page = ReadContract();
  auto inputs = spec::kSparseMlaInputs;
  std::swap(inputs[0], inputs[1]);
  std::array<AttributeSpec, 2> attributes{
      {spec::kSparseMlaAttributes[0], {"window", AttributeKind::kInt, false, true, 4}}};
  const OpSpec drifted{kSparseMlaAttentionName, ListOf(inputs), ListOf(spec::kSparseMlaOutputs), ListOf(attributes)};
  const std::vector<std::string> diffs = test::CompareContractWithSpec(page, drifted);
  EXPECT_EQ(diffs.size(), 3u) << Join(diffs);  // two swapped rows, one extra attribute
}

}  // namespace
}  // namespace glm_ops
