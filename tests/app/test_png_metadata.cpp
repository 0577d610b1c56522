// PNG files with text chunks (app/common): pixels and chunks round trip, other decoders (Qt's)
// read what we write, and every kind of broken file is one named error line, never a crash.
#include <QImage>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <sys/resource.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dcscope/errors.h"
#include "png_metadata.h"
#include "support/test_support.h"

using dcscope::ErrorCode;
using dcscope::PngImage;
using dcscope::PngTextChunk;

namespace {

// A pattern in which every byte differs from its neighbours, so a row or channel mix-up shows.
PngImage patternImage(int width, int height, int channels) {
    PngImage image;
    image.width = width;
    image.height = height;
    image.channels = channels;
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
            for (int c = 0; c < channels; ++c) image.pixels.push_back(uint8_t((y * 31 + x * 7 + c * 101) & 0xff));
    return image;
}

const std::vector<PngTextChunk> kChunks = {
    {"parameters", "Steps: 10, Sampler: UniPC (bh2) + DC, CFG scale: 3", false},
    {"dcscope", R"({"format":"dcscope.reproduction","ratios":[1,0.95]})", true},
    {"Comment", "caf\xc3\xa9 \xe2\x80\x94 UTF-8 text", false},  // not ASCII: written as iTXt anyway
};

uint32_t crc32(const std::string& bytes) {
    uint32_t crc = 0xffffffffu;
    for (const char c : bytes) {
        crc ^= static_cast<unsigned char>(c);
        for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

std::string bigEndian(uint32_t value) {
    return {char(value >> 24), char((value >> 16) & 0xff), char((value >> 8) & 0xff), char(value & 0xff)};
}

// A chunk with a correct CRC, for building files libpng must refuse for what they say.
std::string chunk(const std::string& type, const std::string& data) {
    return bigEndian(uint32_t(data.size())) + type + data + bigEndian(crc32(type + data));
}

long peakResidentKiB() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

std::string errorOf(const std::function<void()>& body) {
    try {
        body();
    } catch (const dcscope::Error& error) {
        return std::string(error.code() == ErrorCode::BadFile ? "" : "[wrong code] ") + error.what();
    } catch (const std::exception& error) {
        return std::string("[not a dcscope::Error] ") + error.what();
    }
    return "[no error]";
}

}  // namespace

class TestPngMetadata : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void pixelsAndChunksRoundTrip_data() {
        QTest::addColumn<int>("channels");
        QTest::newRow("gray") << 1;
        QTest::newRow("gray+alpha") << 2;
        QTest::newRow("rgb") << 3;
        QTest::newRow("rgba") << 4;
    }
    void pixelsAndChunksRoundTrip() {
        QFETCH(int, channels);
        const PngImage image = patternImage(13, 7, channels);
        const std::string bytes = dcscope::encodePng(image, kChunks);
        const auto decoded = dcscope::decodePng(bytes, "mem.png");
        QCOMPARE(decoded.image.width, 13);
        QCOMPARE(decoded.image.height, 7);
        QCOMPARE(decoded.image.channels, channels);
        QVERIFY(decoded.image.pixels == image.pixels);
        QCOMPARE(decoded.text.size(), kChunks.size());
        for (size_t i = 0; i < kChunks.size(); ++i) {
            QCOMPARE(decoded.text[i].keyword, kChunks[i].keyword);
            QCOMPARE(decoded.text[i].text, kChunks[i].text);
        }
        // The chunk types: tEXt for ASCII unless asked, iTXt for UTF-8 or when asked.
        QVERIFY(!decoded.text[0].utf8);
        QVERIFY(decoded.text[1].utf8);
        QVERIFY(decoded.text[2].utf8);
        QVERIFY(bytes.find("tEXtparameters") != std::string::npos);
        QVERIFY(bytes.find("iTXtdcscope") != std::string::npos);
        QCOMPARE(dcscope::encodePng(image, kChunks), bytes);  // deterministic: no time stamp

        // Another decoder agrees on pixels and text.
        QImage qt;
        QVERIFY(qt.loadFromData(reinterpret_cast<const uchar*>(bytes.data()), int(bytes.size()), "PNG"));
        QCOMPARE(qt.size(), QSize(13, 7));
        const QImage rgba = qt.convertToFormat(QImage::Format_RGBA8888);
        for (int y = 0; y < 7; ++y)
            for (int x = 0; x < 13; ++x) {
                const uint8_t* p = image.pixels.data() + (y * 13 + x) * channels;
                const QRgb pixel = rgba.pixel(x, y);
                const bool gray = channels <= 2;
                QCOMPARE(qRed(pixel), int(p[0]));
                QCOMPARE(qGreen(pixel), int(gray ? p[0] : p[1]));
                QCOMPARE(qBlue(pixel), int(gray ? p[0] : p[2]));
                QCOMPARE(qAlpha(pixel), channels == 2 ? int(p[1]) : channels == 4 ? int(p[3]) : 255);
            }
        QCOMPARE(qt.text("parameters").toStdString(), kChunks[0].text);
        QCOMPARE(qt.text("dcscope").toStdString(), kChunks[1].text);
        QCOMPARE(qt.text("Comment").toStdString(), kChunks[2].text);
    }

    void writesAtomicallyAndReadsTextBack() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("grid.png").toStdString();
        dcscope::writePng(path, patternImage(40, 30, 1), kChunks);
        dcscope::writePng(path, patternImage(40, 30, 3), kChunks);  // replaces it
        QCOMPARE(dcscope::testing::folderEntries(dir.path().toStdString()), std::vector<std::string>{"grid.png"});
        const auto text = dcscope::readPngText(path);
        QCOMPARE(text.size(), kChunks.size());
        const PngTextChunk* found = dcscope::findPngText(text, "dcscope");
        QVERIFY(found);
        QCOMPARE(found->text, kChunks[1].text);
        QVERIFY(!dcscope::findPngText(text, "missing"));
        QCOMPARE(QImage(dir.filePath("grid.png")).size(), QSize(40, 30));
        DCSCOPE_EXPECT_ERROR(dcscope::writePng(dir.filePath("no/such/folder/x.png").toStdString(), patternImage(2, 2, 1), {}),
                             ErrorCode::BadFile, "no/such/folder");
    }

    void readsTextOtherToolsWrite() {
        // Qt picks tEXt, zTXt (long text) or iTXt itself; Latin-1 must come back as UTF-8.
        QTemporaryDir dir;
        QImage image(5, 4, QImage::Format_RGB32);
        image.fill(Qt::red);
        image.setText("Title", QString::fromUtf8("caf\xc3\xa9"));
        const QString longText = QString("long description ").repeated(40);
        image.setText("Description", longText);
        QVERIFY(image.save(dir.filePath("qt.png"), "PNG"));
        const auto text = dcscope::readPngText(dir.filePath("qt.png").toStdString());
        const PngTextChunk* title = dcscope::findPngText(text, "Title");
        const PngTextChunk* description = dcscope::findPngText(text, "Description");
        QVERIFY(title && description);
        QCOMPARE(title->text, std::string("caf\xc3\xa9"));
        QCOMPARE(description->text, longText.toStdString());
    }

    void refusesBadImagesAndKeywords() {
        PngImage bad = patternImage(4, 4, 3);
        bad.pixels.pop_back();
        DCSCOPE_EXPECT_ERROR(dcscope::encodePng(bad, {}), ErrorCode::InvalidArgument, "inconsistent");
        DCSCOPE_EXPECT_ERROR(dcscope::encodePng(patternImage(4, 4, 5), {}), ErrorCode::InvalidArgument, "inconsistent");
        DCSCOPE_EXPECT_ERROR(dcscope::encodePng(PngImage{}, {}), ErrorCode::InvalidArgument, "inconsistent");
        for (const std::string& keyword : {std::string(), std::string(80, 'k'), std::string(" lead"), std::string("new\nline")})
            DCSCOPE_EXPECT_ERROR(dcscope::encodePng(patternImage(2, 2, 1), {{keyword, "x", false}}), ErrorCode::InvalidArgument,
                                 "keyword");
    }

    void everyTruncationIsANamedError() {
        const std::string bytes = dcscope::encodePng(patternImage(9, 5, 3), kChunks);
        for (size_t length = 0; length < bytes.size(); ++length) {
            const std::string message = errorOf([&] { dcscope::decodePng(bytes.substr(0, length), "cut.png"); });
            QVERIFY2(message.rfind("cut.png: ", 0) == 0, (std::to_string(length) + ": " + message).c_str());
            QVERIFY2(message.find('\n') == std::string::npos, message.c_str());
        }
        QTemporaryDir dir;
        const std::string path = dir.filePath("half.png").toStdString();
        dcscope::testing::writeBytes(path, bytes.substr(0, bytes.size() / 2));
        QCOMPARE(errorOf([&] { dcscope::readPngText(path); }).rfind(path + ": damaged or truncated PNG", 0), size_t(0));
    }

    void brokenFilesAreNamedErrors() {
        QTemporaryDir dir;
        const std::string missing = dir.filePath("missing.png").toStdString();
        QCOMPARE(errorOf([&] { dcscope::readPngText(missing); }), missing + ": cannot open file");
        const std::string garbage = dir.filePath("garbage.png").toStdString();
        dcscope::testing::writeBytes(garbage, "GIF89a this is not a PNG at all");
        QCOMPARE(errorOf([&] { dcscope::readPngText(garbage); }), garbage + ": not a PNG file (bad signature)");
        const std::string empty = dir.filePath("empty.png").toStdString();
        dcscope::testing::writeBytes(empty, "");
        QCOMPARE(errorOf([&] { dcscope::readPngText(empty); }), empty + ": not a PNG file (bad signature)");

        // A flipped byte inside the text chunk: its CRC no longer matches, and that is an error
        // (libpng's default would drop the chunk silently).
        std::string bytes = dcscope::encodePng(patternImage(6, 6, 1), kChunks);
        std::string flipped = bytes;
        flipped[flipped.find("ratios")] ^= 0x20;
        const std::string crc = errorOf([&] { dcscope::decodePng(flipped, "flip.png"); });
        QVERIFY2(crc.rfind("flip.png: damaged or truncated PNG", 0) == 0 && crc.find("CRC") != std::string::npos, crc.c_str());
        flipped = bytes;
        flipped[flipped.find("IDAT") + 6] ^= 0x01;
        QVERIFY(errorOf([&] { dcscope::decodePng(flipped, "idat.png"); }).rfind("idat.png: damaged or truncated PNG", 0) == 0);

        // Well-formed chunks that say absurd things: a 2^31-wide image, a zero-sized one.
        const std::string signature("\x89PNG\r\n\x1a\n", 8);
        const auto header = [&](uint32_t width, uint32_t height) {
            return signature + chunk("IHDR", bigEndian(width) + bigEndian(height) + std::string("\x08\x00\x00\x00\x00", 5)) +
                   chunk("IEND", "");
        };
        for (const auto& [width, height] : {std::pair<uint32_t, uint32_t>{0x7fffffffu, 1}, {0, 5}, {100000, 100000}}) {
            const std::string message = errorOf([&, w = width, h = height] { dcscope::decodePng(header(w, h), "huge.png"); });
            QVERIFY2(message.rfind("huge.png: ", 0) == 0, message.c_str());
        }
        // A chunk declaring more bytes than the file holds is refused before anything is sized by
        // that length (libpng only warns about an oversized chunk and allocates it: 1.8 GB here).
        const std::string good = dcscope::encodePng(patternImage(3, 3, 1), kChunks);
        const size_t afterHeader = 8 + 25;
        const std::string oversized = good.substr(0, afterHeader) + bigEndian(0x6f000000u) + "tEXtkey\0value" + good.substr(afterHeader);
        const long peakBefore = peakResidentKiB();
        const std::string message = errorOf([&] { dcscope::decodePng(oversized, "big.png"); });
        QCOMPARE(message, std::string("big.png: damaged or truncated PNG (chunk 'tEXt' declares 1862270976 bytes, ") +
                              std::to_string(oversized.size() - afterHeader - 12) + " follow)");
        QVERIFY2(peakResidentKiB() - peakBefore < 64 * 1024, std::to_string(peakResidentKiB() - peakBefore).c_str());
        // Non-printable chunk type bytes stay out of the one-line message.
        const std::string oddType = good.substr(0, afterHeader) + bigEndian(0x7fffffffu) + std::string("t\nX\x01", 4) + good.substr(afterHeader);
        QVERIFY2(errorOf([&] { dcscope::decodePng(oddType, "odd.png"); }).find("chunk 't?X?' declares") != std::string::npos,
                 errorOf([&] { dcscope::decodePng(oddType, "odd.png"); }).c_str());

        // Ancillary chunks dcscope never reads (an ICC profile, a time stamp) are skipped unread.
        const std::string withProfile = good.substr(0, afterHeader) + chunk("iCCP", std::string("icc\0\0\x78\x01garbage", 14)) +
                                        chunk("tIME", "bad") + good.substr(afterHeader);
        const auto decoded = dcscope::decodePng(withProfile, "icc.png");
        QCOMPARE(decoded.image.pixels, patternImage(3, 3, 1).pixels);
        QVERIFY(dcscope::findPngText(decoded.text, "dcscope"));

        // Only a signature and an end.
        QVERIFY(errorOf([&] { dcscope::decodePng(signature + chunk("IEND", ""), "bare.png"); }).rfind("bare.png: ", 0) == 0);
    }
};

QTEST_GUILESS_MAIN(TestPngMetadata)
#include "test_png_metadata.moc"
