#pragma once

#include <string>
#include <vector>

#include "dcscope/reproduction.h"
#include "png_metadata.h"

namespace dcscope {

/// Keyword of the one-line summary other generation tools (AUTOMATIC1111's web UI) write.
inline constexpr const char* kParametersKeyword = "parameters";
/// Keyword of the iTXt chunk holding the reproduction record as JSON.
inline constexpr const char* kReproductionKeyword = "dcscope";

/// The text chunks every PNG dcscope writes carries: "parameters" (parametersText) and
/// "dcscope" (toJson, as iTXt).
std::vector<PngTextChunk> reproductionText(const ReproductionRecord& record);

/// Reads the "dcscope" chunk of a PNG file and parses it. Throws dcscope::Error(BadFile) with one
/// line naming the file (and the field) when the file is missing, not a PNG, damaged, has no such
/// chunk, or the record is malformed, from a newer version or impossible.
ReproductionRecord readReproductionRecord(const std::string& pngPath);

}  // namespace dcscope
