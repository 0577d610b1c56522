#include "dcscope/compensation.h"

#include <ATen/ATen.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "dcscope/errors.h"
#include "dcscope/npy.h"
#include "linear_combination.h"

namespace dcscope {

std::vector<double> lagrangeWeights(const std::vector<double>& nodes, double x) {
    std::vector<double> weights(nodes.size(), 1.0);
    for (size_t a = 0; a < nodes.size(); ++a)
        for (size_t b = 0; b < nodes.size(); ++b)
            if (a != b) weights[a] *= (x - nodes[b]) / (nodes[a] - nodes[b]);
    return weights;
}

at::Tensor compensate(const std::vector<at::Tensor>& values, const std::vector<double>& times, double rho) {
    const double target = times[1] + rho * (times[0] - times[1]);
    const auto weights = lagrangeWeights(times, target);
    std::vector<WeightedTensor> terms;
    for (size_t a = 0; a < values.size(); ++a) terms.push_back({weights[a], &values[a]});
    return linearCombination(terms);
}

at::Tensor compensateDifferentiable(const std::vector<at::Tensor>& values, const std::vector<double>& times,
                                    const at::Tensor& rho) {
    const auto target = rho * (times[0] - times[1]) + times[1];
    at::Tensor result;
    for (size_t a = 0; a < values.size(); ++a) {
        at::Tensor weight = at::ones_like(target);
        for (size_t b = 0; b < values.size(); ++b)
            if (a != b) weight = weight * ((target - times[b]) / (times[a] - times[b]));
        const auto term = values[a] * weight.to(values[a].scalar_type());
        result = result.defined() ? result + term : term;
    }
    return result;
}

namespace {

// The JSON parser rejects numbers beyond double range (1e999) itself, before loadRatios sees
// them. This SAX pass finds which list entry it stopped at, so that error names the entry too.
class RatioEntryLocator : public nlohmann::json_sax<nlohmann::json> {
public:
    /// Index of the ratio entry where parsing failed, or -1 when it failed elsewhere.
    long failedEntry = -1;

    bool null() override { return element(); }
    bool boolean(bool) override { return element(); }
    bool number_integer(number_integer_t) override { return element(); }
    bool number_unsigned(number_unsigned_t) override { return element(); }
    bool number_float(number_float_t, const string_t&) override { return element(); }
    bool string(string_t&) override { return element(); }
    bool binary(binary_t&) override { return element(); }
    bool start_object(std::size_t) override { return open(false); }
    bool end_object() override { return close(); }
    bool start_array(std::size_t) override { return open(true); }
    bool end_array() override { return close(); }
    bool key(string_t& name) override {
        m_key = name;
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
        // The ratios are a top-level list or the "ratios" list of a top-level object.
        if (!m_open.empty() && m_open.back().isArray && (m_open.size() == 1 || (m_open.size() == 2 && m_key == "ratios")))
            failedEntry = m_open.back().count;
        return false;
    }

private:
    struct Container {
        bool isArray;
        long count;
    };
    bool element() {
        if (!m_open.empty() && m_open.back().isArray) ++m_open.back().count;
        return true;
    }
    bool open(bool isArray) {
        element();
        m_open.push_back({isArray, 0});
        return true;
    }
    bool close() {
        m_open.pop_back();
        return true;
    }
    std::vector<Container> m_open;
    std::string m_key;  // the latest object key: names the list when m_open is {object, list}
};

}  // namespace

std::vector<double> loadRatios(const std::string& path) { return parseRatios(readFile(path), path); }

std::vector<double> parseRatios(const std::string& text, const std::string& source) {
    nlohmann::json document;
    try {
        document = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        RatioEntryLocator locator;
        nlohmann::json::sax_parse(text, &locator, nlohmann::json::input_format_t::json, false);
        if (e.id == 406 && locator.failedEntry >= 0)
            throw Error(ErrorCode::BadFile,
                        source + ": ratios[" + std::to_string(locator.failedEntry) + "] is not finite (" + e.what() + ")");
        throw Error(ErrorCode::BadFile, source + ": malformed JSON (" + std::string(e.what()) + ")");
    }
    const nlohmann::json* list = &document;
    if (document.is_object()) {
        if (!document.contains("ratios")) throw Error(ErrorCode::BadFile, source + ": object has no 'ratios' field");
        list = &document["ratios"];
    }
    if (!list->is_array() || list->empty())
        throw Error(ErrorCode::BadFile, source + ": 'ratios' must be a non-empty list of numbers");
    std::vector<double> ratios;
    for (size_t i = 0; i < list->size(); ++i) {
        const auto& value = (*list)[i];
        if (!value.is_number()) throw Error(ErrorCode::BadFile, source + ": ratios[" + std::to_string(i) + "] is not a number");
        const double rho = value.get<double>();
        if (!std::isfinite(rho)) throw Error(ErrorCode::BadFile, source + ": ratios[" + std::to_string(i) + "] is not finite");
        ratios.push_back(rho);
    }
    return ratios;
}

void saveRatios(const std::string& path, const std::vector<double>& ratios, const nlohmann::json& metadata) {
    nlohmann::json document = metadata.is_object() ? metadata : nlohmann::json::object();
    document["ratios"] = ratios;
    writeFileAtomically(path, document.dump(2) + "\n");
}

}  // namespace dcscope
