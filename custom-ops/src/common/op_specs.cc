#include "common/op_specs.h"

#include <stdexcept>
#include <string>

namespace glm_ops {

const AttributeSpec& FindAttribute(const OpSpec& op, std::string_view name) {
  for (const AttributeSpec& a : op.attributes)
    if (a.name == name) return a;
  throw std::logic_error(std::string(op.name) + ": no attribute '" + std::string(name) + "' in its spec");
}

}  // namespace glm_ops
