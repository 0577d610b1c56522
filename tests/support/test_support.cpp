#include "support/test_support.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>

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

void writeBytes(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write test fixture " + path);
}

std::vector<std::string> folderEntries(const std::string& folder) {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(folder)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace dcscope::testing
