#pragma once

#include <stdexcept>
#include <string>

namespace dcscope {

/// What went wrong, so callers (CLI exit codes, GUI dialogs) can react without parsing text.
enum class ErrorCode {
    InvalidArgument,  ///< impossible parameter (nfe 0, order 4, rho_0 != 1, ...)
    BadFile,          ///< missing, unreadable, truncated or malformed file
    BadModel,         ///< model package invalid or network misbehaves
    NonFinite,        ///< NaN/Inf in inputs or produced by the model
    Cancelled,        ///< the caller's CancelToken was set
    Device,           ///< requested device unavailable
};

/// The one exception type thrown across the core boundary. what() is a single line that names
/// the offending file, field or flag.
class Error : public std::runtime_error {
public:
    Error(ErrorCode code, const std::string& message) : std::runtime_error(message), m_code(code) {}
    ErrorCode code() const noexcept { return m_code; }

private:
    ErrorCode m_code;
};

}  // namespace dcscope
