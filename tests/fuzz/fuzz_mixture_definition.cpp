// Mixture model file text -> parseMixtureDefinition. Whatever it accepts must be a valid
// definition that builds a model and writes back to the same definition.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "dcscope/errors.h"
#include "dcscope/gaussian_mixture_model.h"
#include "dcscope/mixture_definition.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const auto definition = dcscope::parseMixtureDefinition(text, "fuzz.json");
        definition.validate();  // accepted means valid: an Error here escapes as a finding
        if (definition.components.empty() || definition.labels.empty()) std::abort();
        if (dcscope::parseMixtureDefinition(dcscope::mixtureDefinitionJson(definition), "fuzz.json") != definition) std::abort();
        const auto model = dcscope::makeMixtureModel(definition, std::string());
        if (model->weights().size() != definition.components.size()) std::abort();
    } catch (const dcscope::Error& error) {
        // Refusing the input is fine; a valid definition that fails to round-trip or build is not.
        if (std::string(error.what()).find("fuzz.json") == std::string::npos) std::abort();
    }
    return 0;
}
