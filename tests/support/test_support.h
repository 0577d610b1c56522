#pragma once

#include <ATen/ATen.h>
#include <QtTest/QtTest>

#include <functional>
#include <string>

#include "dcscope/errors.h"

namespace dcscope::testing {

/// Largest absolute elementwise difference.
double maxAbsDiff(const at::Tensor& a, const at::Tensor& b);

/// Runs `body`, expecting a dcscope::Error with `code` whose message contains `fragment`.
/// Returns an empty string on success, else a description of what happened instead.
std::string expectError(const std::function<void()>& body, ErrorCode code, const std::string& fragment);

/// A fresh temporary folder for one test (removed by the caller's QTemporaryDir).
std::string dataFile(const std::string& name);

}  // namespace dcscope::testing

#define DCSCOPE_EXPECT_ERROR(body, code, fragment)                                              \
    do {                                                                                       \
        const std::string dcscopeFailure = dcscope::testing::expectError([&] { body; }, code, fragment); \
        QVERIFY2(dcscopeFailure.empty(), dcscopeFailure.c_str());                              \
    } while (0)
