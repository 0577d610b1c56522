#pragma once

// FNV-1a, 64 bit: the cache's key hash and payload checksum. Not cryptographic; it detects
// truncation, flipped bytes and stale keys, which is all a local cache needs.
#include <cstddef>
#include <cstdint>
#include <string>

namespace dcscope::detail {

class Fnv1a64 {
public:
    static constexpr uint64_t kOffsetBasis = 14695981039346656037ULL;
    static constexpr uint64_t kPrime = 1099511628211ULL;

    void update(const void* data, size_t size) {
        const auto* bytes = static_cast<const unsigned char*>(data);
        uint64_t hash = m_hash;
        for (size_t i = 0; i < size; ++i) {
            hash ^= bytes[i];
            hash *= kPrime;
        }
        m_hash = hash;
    }
    void update(const std::string& text) { update(text.data(), text.size()); }
    /// Strings are hashed with their length first, so "ab"+"c" and "a"+"bc" differ.
    void updateField(const std::string& text) {
        const uint64_t size = text.size();
        update(&size, sizeof size);
        update(text);
    }
    uint64_t value() const { return m_hash; }

private:
    uint64_t m_hash = kOffsetBasis;
};

inline uint64_t fnv1a64(const void* data, size_t size) {
    Fnv1a64 hash;
    hash.update(data, size);
    return hash.value();
}

}  // namespace dcscope::detail
