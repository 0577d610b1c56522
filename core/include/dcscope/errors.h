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

/// `text` safe to print on one terminal line: printable ASCII and well-formed UTF-8 (paths with
/// accents stay readable) are kept; control characters, DEL, C1 controls and bytes that are not
/// valid UTF-8 become \xNN (so bytes from a broken file never reach the terminal raw).
inline std::string printableText(const std::string& text) {
    static const char* const kHex = "0123456789abcdef";
    std::string out;
    out.reserve(text.size());
    const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
    const auto escape = [&](unsigned char b) {
        out += "\\x";
        out += kHex[b >> 4];
        out += kHex[b & 15];
    };
    for (size_t i = 0; i < text.size();) {
        const unsigned char b = byte(i);
        if (b >= 0x20 && b < 0x7f) {
            out += char(b);
            ++i;
            continue;
        }
        // Length and the allowed range of the second byte of a well-formed UTF-8 sequence
        // (Unicode table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF).
        size_t length = 0;
        unsigned char low = 0x80, high = 0xbf;
        if (b >= 0xc2 && b <= 0xdf) length = 2;
        else if (b >= 0xe0 && b <= 0xef) length = 3, low = b == 0xe0 ? 0xa0 : 0x80, high = b == 0xed ? 0x9f : 0xbf;
        else if (b >= 0xf0 && b <= 0xf4) length = 4, low = b == 0xf0 ? 0x90 : 0x80, high = b == 0xf4 ? 0x8f : 0xbf;
        bool wellFormed = length > 0 && i + length <= text.size() && byte(i + 1) >= low && byte(i + 1) <= high;
        for (size_t j = 2; wellFormed && j < length; ++j) wellFormed = byte(i + j) >= 0x80 && byte(i + j) <= 0xbf;
        if (wellFormed && b == 0xc2 && byte(i + 1) < 0xa0) wellFormed = false;  // C1 controls U+0080..U+009F
        if (!wellFormed) {
            escape(b);
            ++i;
            continue;
        }
        out.append(text, i, length);
        i += length;
    }
    return out;
}

/// The one exception type thrown across the core boundary. what() is a single printable line
/// (printableText) that names the offending file, field or flag.
class Error : public std::runtime_error {
public:
    Error(ErrorCode code, const std::string& message) : std::runtime_error(printableText(message)), m_code(code) {}
    ErrorCode code() const noexcept { return m_code; }

private:
    ErrorCode m_code;
};

}  // namespace dcscope
