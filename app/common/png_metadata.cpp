#include "png_metadata.h"

#include <png.h>

#include <cstdio>
#include <cstring>
#include <limits>

#include "dcscope/errors.h"
#include "dcscope/npy.h"

namespace dcscope {

// libpng reports errors by longjmp to the last setjmp on its jmp_buf. The functions that call
// setjmp (runWriter, readHeader, readRows) therefore hold no object with a destructor and read no
// local after a jump (they just return false): what they fill lives in the caller, the png structs are
// owned by guards in the caller, so a jump leaks nothing and skips no destructor. The callbacks
// libpng calls (I/O, errors) do not throw either: they record the problem and png_error/longjmp.
namespace {

constexpr size_t kMaxDecodedBytes = size_t(1) << 30;
// A text chunk dcscope writes (a reproduction record) is a few KiB; 8 MB is libpng's own default.
constexpr png_alloc_size_t kMaxChunkBytes = 8000000;
// The chunks the reader needs besides the critical ones: transparency for png_set_expand, text.
constexpr png_byte kChunksToRead[] = "tRNS\0tEXt\0zTXt\0iTXt\0";

struct Context {
    const std::string* input = nullptr;  // reading
    size_t offset = 0;
    std::string* output = nullptr;       // writing
    bool outOfMemory = false;
    char error[256] = {};
};

void onError(png_structp png, png_const_charp message) {
    auto* context = static_cast<Context*>(png_get_error_ptr(png));
    std::snprintf(context->error, sizeof context->error, "%s", message ? message : "unknown libpng error");
    png_longjmp(png, 1);
}

void onWarning(png_structp, png_const_charp) {}  // warnings (odd but readable files) are not errors

void onRead(png_structp png, png_bytep data, png_size_t length) {
    auto* context = static_cast<Context*>(png_get_io_ptr(png));
    if (length > context->input->size() - context->offset) png_error(png, "file ends early (truncated)");
    std::memcpy(data, context->input->data() + context->offset, length);
    context->offset += length;
}

void onWrite(png_structp png, png_bytep data, png_size_t length) {
    auto* context = static_cast<Context*>(png_get_io_ptr(png));
    if (context->outOfMemory) return;
    try {
        context->output->append(reinterpret_cast<const char*>(data), length);
    } catch (...) {
        context->outOfMemory = true;  // reported after libpng returns, not thrown through it
    }
}

void onFlush(png_structp) {}

struct WriteGuard {
    png_structp png = nullptr;
    png_infop info = nullptr;
    ~WriteGuard() { png_destroy_write_struct(&png, &info); }
};

struct ReadGuard {
    png_structp png = nullptr;
    png_infop info = nullptr;
    png_infop end = nullptr;
    ~ReadGuard() { png_destroy_read_struct(&png, &info, &end); }
};

int colorType(int channels) {
    switch (channels) {
    case 1: return PNG_COLOR_TYPE_GRAY;
    case 2: return PNG_COLOR_TYPE_GRAY_ALPHA;
    case 3: return PNG_COLOR_TYPE_RGB;
    default: return PNG_COLOR_TYPE_RGBA;
    }
}

bool runWriter(png_structp png, png_infop info, const PngImage* image, png_textp text, int textCount, png_bytepp rows) {
    if (setjmp(png_jmpbuf(png))) return false;
    png_set_IHDR(png, info, png_uint_32(image->width), png_uint_32(image->height), 8, colorType(image->channels), PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (textCount > 0) png_set_text(png, info, text, textCount);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, nullptr);
    return true;
}

struct Header {
    png_uint_32 width = 0;
    png_uint_32 height = 0;
    int channels = 0;
    size_t rowBytes = 0;
    int passes = 1;
};

bool readHeader(png_structp png, png_infop info, Header* header) {
    if (setjmp(png_jmpbuf(png))) return false;
    png_read_info(png, info);
    png_set_expand(png);     // palette -> RGB, 1/2/4-bit gray -> 8 bits, tRNS -> alpha
    png_set_strip_16(png);
    header->passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    header->width = png_get_image_width(png, info);
    header->height = png_get_image_height(png, info);
    header->channels = png_get_channels(png, info);
    header->rowBytes = png_get_rowbytes(png, info);
    return true;
}

// rows: one pointer per row (pixels kept), or null to read every row into `scratch` and discard it.
bool readRows(png_structp png, png_infop end, const Header* header, png_bytepp rows, png_bytep scratch) {
    if (setjmp(png_jmpbuf(png))) return false;
    if (rows) {
        png_read_image(png, rows);
    } else {
        for (int pass = 0; pass < header->passes; ++pass)
            for (png_uint_32 y = 0; y < header->height; ++y) png_read_row(png, scratch, nullptr);
    }
    png_read_end(png, end);
    return true;
}

std::string latin1ToUtf8(const char* text, size_t length) {
    std::string out;
    for (size_t i = 0; i < length; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            out += char(c);
        } else {
            out += char(0xc0 | (c >> 6));
            out += char(0x80 | (c & 0x3f));
        }
    }
    return out;
}

void collectText(png_structp png, png_infop info, std::vector<PngTextChunk>& out) {
    png_textp text = nullptr;
    const int count = png_get_text(png, info, &text, nullptr);
    for (int i = 0; i < count; ++i) {
        PngTextChunk chunk;
        chunk.keyword = text[i].key ? text[i].key : "";
        chunk.utf8 = text[i].compression == PNG_ITXT_COMPRESSION_NONE || text[i].compression == PNG_ITXT_COMPRESSION_zTXt;
        if (!text[i].text) {
        } else if (chunk.utf8) {
            chunk.text.assign(text[i].text, text[i].itxt_length);
        } else {
            chunk.text = latin1ToUtf8(text[i].text, text[i].text_length);
        }
        out.push_back(std::move(chunk));
    }
}

bool isPlainAscii(const std::string& text) {
    for (const char c : text)
        if (static_cast<unsigned char>(c) >= 0x80 || (static_cast<unsigned char>(c) < 0x20 && c != '\n')) return false;
    return true;
}

void checkKeyword(const std::string& keyword) {
    bool ok = !keyword.empty() && keyword.size() <= 79 && keyword.front() != ' ' && keyword.back() != ' ';
    for (const char c : keyword) ok = ok && c >= 0x20 && c < 0x7f;
    if (!ok) throw Error(ErrorCode::InvalidArgument, "png: text keyword '" + keyword + "' must be 1-79 printable ASCII characters");
}

uint32_t bigEndian32(const std::string& bytes, size_t at) {
    uint32_t value = 0;
    for (size_t i = 0; i < 4; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
    return value;
}

// The file is in memory, so a chunk that declares more bytes than follow it is truncated or
// damaged: refuse it before libpng sizes a buffer by the declared length.
void checkChunkLengths(const std::string& bytes, const std::string& source) {
    size_t at = 8;
    while (at + 12 <= bytes.size()) {
        const uint64_t length = bigEndian32(bytes, at);
        std::string type = bytes.substr(at + 4, 4);
        for (char& c : type)
            if (c < 0x20 || c > 0x7e) c = '?';  // the message stays one printable line
        if (length > bytes.size() - at - 12)
            throw Error(ErrorCode::BadFile, source + ": damaged or truncated PNG (chunk '" + type + "' declares " + std::to_string(length) +
                                                " bytes, " + std::to_string(bytes.size() - at - 12) + " follow)");
        if (type == "IEND") return;
        at += 12 + length;
    }
}

DecodedPng decode(const std::string& bytes, const std::string& source, bool keepPixels) {
    if (bytes.size() < 8 || png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, 8) != 0)
        throw Error(ErrorCode::BadFile, source + ": not a PNG file (bad signature)");
    checkChunkLengths(bytes, source);
    Context context;
    context.input = &bytes;
    ReadGuard guard;
    guard.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &context, onError, onWarning);
    if (guard.png) guard.info = png_create_info_struct(guard.png);
    if (guard.info) guard.end = png_create_info_struct(guard.png);
    if (!guard.end) throw Error(ErrorCode::BadFile, source + ": cannot start the PNG decoder (out of memory)");
    png_set_read_fn(guard.png, &context, onRead);
    // A damaged ancillary chunk (a text chunk among them) is an error, not silently dropped.
    png_set_crc_action(guard.png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    // Only the chunks dcscope reads are parsed: the others (an ICC profile declaring a 2 GB
    // profile, say) are skipped unread. Decompressed text is capped like any chunk.
    png_set_keep_unknown_chunks(guard.png, PNG_HANDLE_CHUNK_NEVER, nullptr, -1);
    png_set_keep_unknown_chunks(guard.png, PNG_HANDLE_CHUNK_AS_DEFAULT, kChunksToRead, int(sizeof(kChunksToRead) / 5));
    png_set_chunk_malloc_max(guard.png, kMaxChunkBytes);
    const auto failed = [&] { return Error(ErrorCode::BadFile, source + ": damaged or truncated PNG (" + context.error + ")"); };
    Header header;
    if (!readHeader(guard.png, guard.info, &header)) throw failed();
    const size_t expectedRow = size_t(header.width) * size_t(header.channels);
    if (header.rowBytes != expectedRow || header.channels < 1 || header.channels > 4)
        throw Error(ErrorCode::BadFile, source + ": unsupported PNG pixel layout");
    // Deflate expands at most 1032:1, so image data needing more than that is not all there: say
    // so before allocating for it (a 60-byte file may declare a 30000 x 30000 image).
    if (keepPixels && double(expectedRow + 1) * header.height > 1032.0 * double(bytes.size()) + 4096.0)
        throw Error(ErrorCode::BadFile, source + ": damaged or truncated PNG (too little image data for " + std::to_string(header.width) +
                                            "x" + std::to_string(header.height) + ")");
    if (keepPixels && header.height > 0 && expectedRow > kMaxDecodedBytes / header.height)
        throw Error(ErrorCode::BadFile, source + ": PNG too large to decode (" + std::to_string(header.width) + "x" +
                                            std::to_string(header.height) + ")");
    DecodedPng result;
    std::vector<png_bytep> rows;
    std::vector<png_byte> scratch;
    if (keepPixels) {
        result.image.width = int(header.width);
        result.image.height = int(header.height);
        result.image.channels = header.channels;
        result.image.pixels.resize(expectedRow * header.height);
        for (png_uint_32 y = 0; y < header.height; ++y) rows.push_back(result.image.pixels.data() + y * expectedRow);
    } else {
        scratch.resize(expectedRow);
    }
    if (!readRows(guard.png, guard.end, &header, keepPixels ? rows.data() : nullptr, scratch.data())) throw failed();
    collectText(guard.png, guard.info, result.text);
    collectText(guard.png, guard.end, result.text);
    return result;
}

}  // namespace

std::string encodePng(const PngImage& image, const std::vector<PngTextChunk>& text) {
    if (image.width < 1 || image.height < 1 || image.channels < 1 || image.channels > 4 ||
        size_t(image.width) * size_t(image.height) * size_t(image.channels) != image.pixels.size())
        throw Error(ErrorCode::InvalidArgument, "png: image of " + std::to_string(image.width) + "x" + std::to_string(image.height) + "x" +
                                                    std::to_string(image.channels) + " with " + std::to_string(image.pixels.size()) +
                                                    " bytes is inconsistent");
    if (text.size() > size_t(std::numeric_limits<int>::max())) throw Error(ErrorCode::InvalidArgument, "png: too many text chunks");
    // libpng takes non-const char pointers; these copies outlive the write.
    std::vector<std::string> keys, values;
    std::vector<png_text> entries(text.size());
    for (const auto& chunk : text) {
        checkKeyword(chunk.keyword);
        keys.push_back(chunk.keyword);
        values.push_back(chunk.text);
    }
    for (size_t i = 0; i < text.size(); ++i) {
        png_text& entry = entries[i];
        std::memset(&entry, 0, sizeof entry);
        const bool utf8 = text[i].utf8 || !isPlainAscii(text[i].text);
        entry.compression = utf8 ? PNG_ITXT_COMPRESSION_NONE : PNG_TEXT_COMPRESSION_NONE;
        entry.key = keys[i].data();
        entry.text = values[i].data();
        (utf8 ? entry.itxt_length : entry.text_length) = values[i].size();
    }
    const size_t rowBytes = size_t(image.width) * size_t(image.channels);
    std::vector<png_bytep> rows;
    for (int y = 0; y < image.height; ++y) rows.push_back(const_cast<png_bytep>(image.pixels.data() + size_t(y) * rowBytes));

    std::string bytes;
    Context context;
    context.output = &bytes;
    WriteGuard guard;
    guard.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &context, onError, onWarning);
    if (guard.png) guard.info = png_create_info_struct(guard.png);
    if (!guard.info) throw Error(ErrorCode::InvalidArgument, "png: cannot start the PNG encoder (out of memory)");
    png_set_write_fn(guard.png, &context, onWrite, onFlush);
    if (!runWriter(guard.png, guard.info, &image, entries.data(), int(entries.size()), rows.data()))
        throw Error(ErrorCode::InvalidArgument, std::string("png: encoding failed (") + context.error + ")");
    if (context.outOfMemory) throw Error(ErrorCode::InvalidArgument, "png: encoding failed (out of memory)");
    return bytes;
}

void writePng(const std::string& path, const PngImage& image, const std::vector<PngTextChunk>& text) {
    writeFileAtomically(path, encodePng(image, text));
}

DecodedPng decodePng(const std::string& bytes, const std::string& source) { return decode(bytes, source, true); }

std::vector<PngTextChunk> readPngText(const std::string& path) { return decode(readFile(path), path, false).text; }

const PngTextChunk* findPngText(const std::vector<PngTextChunk>& chunks, const std::string& keyword) {
    for (const auto& chunk : chunks)
        if (chunk.keyword == keyword) return &chunk;
    return nullptr;
}

}  // namespace dcscope
