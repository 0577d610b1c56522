#include "dcscope/npy.h"

#include <ATen/ATen.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "dcscope/errors.h"

namespace dcscope {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
    throw Error(ErrorCode::BadFile, path + ": " + what);
}

struct DtypeInfo {
    const char* descr;
    at::ScalarType type;
    size_t size;
};

constexpr DtypeInfo kDtypes[] = {
    {"<f4", at::kFloat, 4}, {"<f8", at::kDouble, 8}, {"<i8", at::kLong, 8}, {"<i4", at::kInt, 4},
};

// Finds the value of a key in the header dict, e.g. 'descr': '<f4'.
std::string headerValue(const std::string& header, const std::string& key, const std::string& path) {
    auto pos = header.find("'" + key + "'");
    if (pos == std::string::npos) fail(path, "npy header lacks '" + key + "'");
    pos = header.find(':', pos);
    if (pos == std::string::npos) fail(path, "malformed npy header");
    ++pos;
    while (pos < header.size() && header[pos] == ' ') ++pos;
    if (pos >= header.size()) fail(path, "malformed npy header");
    if (header[pos] == '(') {
        auto end = header.find(')', pos);
        if (end == std::string::npos) fail(path, "malformed npy shape");
        return header.substr(pos, end - pos + 1);
    }
    if (header[pos] == '\'') {
        auto end = header.find('\'', pos + 1);
        if (end == std::string::npos) fail(path, "malformed npy header");
        return header.substr(pos + 1, end - pos - 1);
    }
    auto end = header.find_first_of(",}", pos);
    if (end == std::string::npos) fail(path, "malformed npy header");
    return header.substr(pos, end - pos);
}

}  // namespace

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path, "cannot open file");
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) fail(path, "read error");
    return buffer.str();
}

void writeFileAtomically(const std::string& path, const std::string& bytes) {
    namespace fs = std::filesystem;
    const fs::path target(path);
    std::random_device rd;
    const fs::path temp = target.parent_path() /
        ("." + target.filename().string() + ".tmp" + std::to_string(rd()));
    // Fault injection for the crash test (tests/app/test_crash_safe_writes.cpp): stop this many
    // milliseconds halfway through the temporary file, so a test can kill the process there.
    const char* pause = std::getenv("DCSCOPE_TEST_PAUSE_WRITES");
    const int pauseMs = pause ? std::atoi(pause) : 0;
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) throw Error(ErrorCode::BadFile, path + ": cannot write file (" + std::strerror(errno) + ")");
    const auto abandon = [&](const std::string& why) {
        ::close(fd);
        std::error_code ec;
        fs::remove(temp, ec);
        throw Error(ErrorCode::BadFile, path + ": " + why);
    };
    const auto writeAll = [&](const char* data, size_t size) {
        while (size > 0) {
            const ssize_t written = ::write(fd, data, size);
            if (written < 0 && errno == EINTR) continue;
            if (written <= 0) return false;
            data += written;
            size -= size_t(written);
        }
        return true;
    };
    const size_t half = pauseMs > 0 ? bytes.size() / 2 : bytes.size();
    if (!writeAll(bytes.data(), half)) abandon("write failed (disk full?)");
    if (pauseMs > 0) {
        ::fsync(fd);
        std::this_thread::sleep_for(std::chrono::milliseconds(pauseMs));
    }
    if (!writeAll(bytes.data() + half, bytes.size() - half)) abandon("write failed (disk full?)");
    // On disk before the rename, so that a power cut cannot leave the new name with old or no data.
    if (::fsync(fd) != 0) abandon("write failed (fsync)");
    if (::close(fd) != 0) {
        std::error_code ec;
        fs::remove(temp, ec);
        throw Error(ErrorCode::BadFile, path + ": write failed (close)");
    }
    std::error_code ec;
    fs::rename(temp, target, ec);
    if (ec) {
        fs::remove(temp, ec);
        throw Error(ErrorCode::BadFile, path + ": cannot replace file");
    }
}

at::Tensor loadNpy(const std::string& path) { return parseNpy(readFile(path), path); }

at::Tensor parseNpy(const std::string& bytes, const std::string& source) {
    if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
        fail(source, "not a .npy file (bad magic)");
    const int major = static_cast<unsigned char>(bytes[6]);
    size_t headerLength = 0;
    size_t offset = 0;
    if (major == 1) {
        headerLength = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
        offset = 10;
    } else if (major == 2 || major == 3) {
        if (bytes.size() < 12) fail(source, "truncated npy header");
        for (int i = 0; i < 4; ++i) headerLength |= size_t(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
        offset = 12;
    } else {
        fail(source, "unsupported npy version " + std::to_string(major));
    }
    if (offset + headerLength > bytes.size()) fail(source, "truncated npy header");
    const std::string header = bytes.substr(offset, headerLength);
    offset += headerLength;

    const std::string descr = headerValue(header, "descr", source);
    const DtypeInfo* dtype = nullptr;
    for (const auto& d : kDtypes)
        if (descr == d.descr) dtype = &d;
    if (!dtype) fail(source, "unsupported npy dtype '" + descr + "' (need <f4, <f8, <i8 or <i4)");
    if (headerValue(header, "fortran_order", source) != "False") fail(source, "Fortran-ordered npy is not supported");

    const std::string shapeText = headerValue(header, "shape", source);
    if (shapeText.size() < 2 || shapeText.front() != '(' || shapeText.back() != ')')
        fail(source, "malformed npy shape " + shapeText);
    std::vector<int64_t> shape;
    int64_t count = 1;
    int64_t extent = 1;  // product of max(dim, 1): bounded so neither it nor the byte count overflows
    {
        std::string inner = shapeText.substr(1, shapeText.size() - 2);
        std::stringstream ss(inner);
        std::string item;
        while (std::getline(ss, item, ',')) {
            const auto first = item.find_first_not_of(' ');
            if (first == std::string::npos) continue;
            size_t used = 0;
            long long dim = -1;
            try {
                dim = std::stoll(item.substr(first), &used);
            } catch (const std::exception&) {
                fail(source, "malformed npy shape " + shapeText);
            }
            if (item.find_first_not_of(' ', first + used) != std::string::npos) fail(source, "malformed npy shape " + shapeText);
            if (dim < 0) fail(source, "negative dimension in npy shape");
            if (std::max<int64_t>(dim, 1) > (int64_t(1) << 56) / extent) fail(source, "npy shape " + shapeText + " is too large");
            extent *= std::max<int64_t>(dim, 1);
            shape.push_back(dim);
            count *= dim;
        }
    }
    const size_t dataBytes = size_t(count) * dtype->size;
    if (bytes.size() - offset < dataBytes)
        fail(source, "truncated npy data (expected " + std::to_string(dataBytes) + " bytes, found " +
                       std::to_string(bytes.size() - offset) + ")");
    at::Tensor result = at::empty(shape, at::TensorOptions().dtype(dtype->type));
    if (dataBytes > 0) std::memcpy(result.data_ptr(), bytes.data() + offset, dataBytes);
    return result;
}

void saveNpy(const std::string& path, const at::Tensor& tensor) {
    const at::Tensor data = tensor.detach().to(at::kCPU).contiguous();
    const DtypeInfo* dtype = nullptr;
    for (const auto& d : kDtypes)
        if (data.scalar_type() == d.type) dtype = &d;
    if (!dtype) throw Error(ErrorCode::InvalidArgument, path + ": cannot save dtype " + std::string(c10::toString(data.scalar_type())) + " as npy");
    std::string shape = "(";
    for (int64_t i = 0; i < data.dim(); ++i) shape += std::to_string(data.size(i)) + (data.dim() == 1 ? ",)" : (i + 1 < data.dim() ? ", " : ")"));
    if (data.dim() == 0) shape += ")";
    std::string header = "{'descr': '" + std::string(dtype->descr) + "', 'fortran_order': False, 'shape': " + shape + ", }";
    // Pad so the data starts on a 64-byte boundary, as NumPy does.
    const size_t unpadded = 10 + header.size() + 1;
    header.append((64 - unpadded % 64) % 64, ' ');
    header += '\n';
    std::string bytes = "\x93NUMPY";
    bytes += char(1);
    bytes += char(0);
    bytes += char(header.size() & 0xff);
    bytes += char((header.size() >> 8) & 0xff);
    bytes += header;
    bytes.append(static_cast<const char*>(data.data_ptr()), size_t(data.numel()) * dtype->size);
    writeFileAtomically(path, bytes);
}

}  // namespace dcscope
