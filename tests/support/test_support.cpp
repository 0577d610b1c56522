#include "support/test_support.h"

namespace dcscope::testing {

double maxAbsDiff(const at::Tensor& a, const at::Tensor& b) {
    return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

std::string expectError(const std::function<void()>& body, ErrorCode code, const std::string& fragment) {
    try {
        body();
    } catch (const Error& e) {
        const std::string message = e.what();
        if (e.code() != code) return "wrong error code for: " + message;
        if (message.find(fragment) == std::string::npos) return "message lacks '" + fragment + "': " + message;
        if (message.find('\n') != std::string::npos) return "message is not one line: " + message;
        return {};
    } catch (const std::exception& e) {
        return std::string("unexpected exception type: ") + e.what();
    }
    return "no error thrown (expected '" + fragment + "')";
}

std::string dataFile(const std::string& name) { return std::string(DCSCOPE_TEST_DATA_DIR) + "/" + name; }

}  // namespace dcscope::testing
