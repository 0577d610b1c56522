#pragma once

#include <ATen/ATen.h>
#include <QtTest/QtTest>

#include <functional>
#include <string>
#include <vector>

#include "dcscope/errors.h"

namespace dcscope::testing {

/// Largest absolute elementwise difference.
double maxAbsDiff(const at::Tensor& a, const at::Tensor& b);

/// Runs `body`, expecting a dcscope::Error with `code` whose message contains `fragment`.
/// Returns an empty string on success, else a description of what happened instead.
std::string expectError(const std::function<void()>& body, ErrorCode code, const std::string& fragment);

/// Path of a fixture file in tests/data.
std::string dataFile(const std::string& name);

/// Writes raw bytes to `path` (plain, non-atomic write, for building fixtures). Throws
/// std::runtime_error when the file cannot be written.
void writeBytes(const std::string& path, const std::string& bytes);

/// Names of all entries in `folder` (hidden ones included), sorted.
std::vector<std::string> folderEntries(const std::string& folder);

}  // namespace dcscope::testing

#define DCSCOPE_EXPECT_ERROR(body, code, fragment)                                              \
    do {                                                                                       \
        const std::string dcscopeFailure = dcscope::testing::expectError([&] { body; }, code, fragment); \
        QVERIFY2(dcscopeFailure.empty(), dcscopeFailure.c_str());                              \
    } while (0)
