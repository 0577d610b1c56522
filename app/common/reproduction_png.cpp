#include "reproduction_png.h"

#include "dcscope/errors.h"

namespace dcscope {

std::vector<PngTextChunk> reproductionText(const ReproductionRecord& record) {
    return {{kParametersKeyword, parametersText(record), false}, {kReproductionKeyword, toJson(record), true}};
}

ReproductionRecord readReproductionRecord(const std::string& pngPath) {
    const auto chunks = readPngText(pngPath);
    const PngTextChunk* chunk = findPngText(chunks, kReproductionKeyword);
    if (!chunk)
        throw Error(ErrorCode::BadFile, pngPath + ": no '" + kReproductionKeyword +
                                            "' chunk (not written by dcscope, or its metadata was stripped)");
    return parseReproductionRecord(chunk->text, pngPath + " (" + kReproductionKeyword + " chunk)");
}

}  // namespace dcscope
