#include "contract_tables.h"

#include <cstdlib>
#include <map>
#include <sstream>

namespace glm_ops::test {

namespace {

using Row = std::map<std::string, std::string>;  // header -> cell

std::string Trim(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  const size_t end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

std::vector<std::string> Cells(const std::string& line) {
  std::vector<std::string> cells;
  std::string inner = Trim(line);
  if (inner.size() < 2 || inner.front() != '|' || inner.back() != '|') return cells;
  inner = inner.substr(1, inner.size() - 2);
  std::stringstream stream(inner);
  std::string cell;
  while (std::getline(stream, cell, '|')) cells.push_back(Trim(cell));
  return cells;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream stream(text);
  std::string line;
  while (std::getline(stream, line)) lines.push_back(line);
  return lines;
}

// The lines of section "## <name>", up to the next "## ".
std::vector<std::string> Section(const std::string& markdown, const std::string& name) {
  std::vector<std::string> out;
  bool inside = false;
  for (const std::string& line : Lines(markdown)) {
    if (line.rfind("## ", 0) == 0) {
      if (inside) break;
      inside = Trim(line.substr(3)) == name;
      continue;
    }
    if (inside) out.push_back(line);
  }
  return out;
}

// The rows of the first table in `lines` whose second header cell is `kind` ("input", "output") or whose first is
// (for "attribute").
std::vector<Row> Table(const std::vector<std::string>& lines, const std::string& kind) {
  std::vector<Row> rows;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::vector<std::string> header = Cells(lines[i]);
    const bool match = header.size() >= 2 && (header[0] == kind || header[1] == kind);
    if (!match) continue;
    for (size_t j = i + 2; j < lines.size(); ++j) {
      const std::vector<std::string> cells = Cells(lines[j]);
      if (cells.empty()) break;
      Row row;
      for (size_t c = 0; c < header.size() && c < cells.size(); ++c) row[header[c]] = cells[c];
      rows.push_back(row);
    }
    break;
  }
  return rows;
}

struct NameCell {
  std::string name;
  bool optional = false;
};

NameCell ParseName(const std::string& cell) {
  NameCell out;
  const size_t open = cell.find('`'), close = cell.find('`', open + 1);
  if (open == std::string::npos || close == std::string::npos) return {cell, false};
  out.name = cell.substr(open + 1, close - open - 1);
  out.optional = Trim(cell.substr(close + 1)) == "(optional)";
  return out;
}

// "float, bfloat16 (remark)" -> {float, bfloat16}; unknown names are reported by the caller.
std::vector<std::string> ParseTypes(const std::string& cell) {
  std::string text = cell.substr(0, cell.find('('));
  std::vector<std::string> types;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    item = Trim(item);
    if (!item.empty()) types.push_back(item);
  }
  return types;
}

std::string Describe(TypeSet set) {
  std::string text;
  for (int t = 0; t <= static_cast<int>(DType::kOther); ++t) {
    if (!set.Contains(static_cast<DType>(t))) continue;
    if (!text.empty()) text += ", ";
    text += DTypeName(static_cast<DType>(t));
  }
  return text;
}

bool ParseTypeSet(const std::vector<std::string>& names, TypeSet* out) {
  TypeSet set{};
  for (const std::string& name : names) {
    bool known = false;
    for (int t = 0; t <= static_cast<int>(DType::kOther); ++t) {
      const DType type = static_cast<DType>(t);
      if (name == DTypeName(type)) {
        set = set.With(type);
        known = true;
      }
    }
    if (!known) return false;
  }
  *out = set;
  return true;
}

void CompareTensors(const std::string& op, const char* kind, const std::vector<Row>& rows,
                    SpecList<TensorSpec> spec, bool check_memory, std::vector<std::string>& diffs) {
  const std::string where = op + " " + kind + "s: ";
  if (rows.size() != spec.size())
    diffs.push_back(where + "the page lists " + std::to_string(rows.size()) + ", the spec " +
                    std::to_string(spec.size()));
  for (size_t i = 0; i < rows.size() && i < spec.size(); ++i) {
    Row row = rows[i];
    const TensorSpec& s = spec[i];
    const std::string at = where + "row " + std::to_string(i) + " ";
    if (row["#"] != std::to_string(i)) diffs.push_back(at + "is numbered '" + row["#"] + "'");
    const NameCell name = ParseName(row[kind]);
    if (name.name != s.name)
      diffs.push_back(at + "is '" + name.name + "' on the page, '" + std::string(s.name) + "' in the spec");
    if (name.optional != s.optional)
      diffs.push_back(at + "'" + std::string(s.name) + "' optional: page " + (name.optional ? "yes" : "no") +
                      ", spec " + (s.optional ? "yes" : "no"));
    TypeSet types{};
    if (!ParseTypeSet(ParseTypes(row["type"]), &types))
      diffs.push_back(at + "'" + std::string(s.name) + "' has an unknown type in '" + row["type"] + "'");
    else if (types.bits() != s.types.bits())
      diffs.push_back(at + "'" + std::string(s.name) + "' types: page {" + Describe(types) + "}, spec {" +
                      Describe(s.types) + "}");
    if (check_memory) {
      const std::string memory = row["CUDA memory"];
      const std::string expected = s.cuda_memory == Memory::kHost ? "host" : "device";
      if (memory != expected)
        diffs.push_back(at + "'" + std::string(s.name) + "' CUDA memory: page '" + memory + "', spec '" + expected +
                        "'");
    }
  }
}

void CompareAttributes(const std::string& op, const std::vector<Row>& rows, SpecList<AttributeSpec> spec,
                       std::vector<std::string>& diffs) {
  const std::string where = op + " attributes: ";
  if (rows.size() != spec.size())
    diffs.push_back(where + "the page lists " + std::to_string(rows.size()) + ", the spec " +
                    std::to_string(spec.size()));
  for (size_t i = 0; i < rows.size() && i < spec.size(); ++i) {
    Row row = rows[i];
    const AttributeSpec& s = spec[i];
    const std::string name = ParseName(row["attribute"]).name;
    const std::string at = where + "row " + std::to_string(i) + " '" + name + "' ";
    if (name != s.name) diffs.push_back(at + "is '" + std::string(s.name) + "' in the spec");
    const std::string kind = s.kind == AttributeKind::kInt     ? "int"
                             : s.kind == AttributeKind::kFloat ? "float"
                                                               : "string";
    if (row["type"] != kind) diffs.push_back(at + "type: page '" + row["type"] + "', spec '" + kind + "'");
    const std::string required = s.required ? "yes" : "no";
    if (row["required"] != required)
      diffs.push_back(at + "required: page '" + row["required"] + "', spec '" + required + "'");
    const std::string cell = row["default"];
    if (!s.has_default) {
      if (cell != "-") diffs.push_back(at + "default: page '" + cell + "', spec none ('-')");
    } else if (s.kind == AttributeKind::kString) {
      // A string default is written quoted on the page ("" for the empty string).
      const std::string quoted = "\"" + std::string(s.default_text) + "\"";
      if (cell != quoted) diffs.push_back(at + "default: page '" + cell + "', spec '" + quoted + "'");
    } else {
      char* end = nullptr;
      const double value = std::strtod(cell.c_str(), &end);
      if (cell.empty() || *end != '\0' || value != s.default_value)
        diffs.push_back(at + "default: page '" + cell + "', spec " + std::to_string(s.default_value));
    }
  }
}

}  // namespace

std::vector<std::string> CompareContractWithSpec(const std::string& markdown, const OpSpec& op) {
  std::vector<std::string> diffs;
  const std::string name(op.name);
  const std::vector<std::string> section = Section(markdown, name);
  if (section.empty()) return {name + ": no '## " + name + "' section on the page"};
  CompareTensors(name, "input", Table(section, "input"), op.inputs, true, diffs);
  CompareTensors(name, "output", Table(section, "output"), op.outputs, false, diffs);
  CompareAttributes(name, Table(section, "attribute"), op.attributes, diffs);
  return diffs;
}

std::vector<std::string> DocumentedOps(const std::string& markdown) {
  std::vector<std::string> ops;
  std::string current;
  for (const std::string& line : Lines(markdown)) {
    if (line.rfind("## ", 0) == 0) {
      current = Trim(line.substr(3));
      continue;
    }
    const std::vector<std::string> cells = Cells(line);
    if (cells.size() >= 2 && cells[0] == "#" && cells[1] == "input" && !current.empty()) ops.push_back(current);
  }
  return ops;
}

}  // namespace glm_ops::test
