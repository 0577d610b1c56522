// NumPy .npy reading and writing, and the atomic file write under it.
#include <ATen/ATen.h>
#include <QtTest/QtTest>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "dcscope/errors.h"
#include "dcscope/npy.h"
#include "support/test_support.h"

using dcscope::ErrorCode;
using dcscope::testing::folderEntries;
using dcscope::testing::writeBytes;

namespace {

// A complete .npy file exactly as NumPy writes it: magic, version, little-endian header length
// (2 bytes for 1.0, 4 for 2.0), the dict padded with spaces and ended by '\n' so the data
// starts on a 64-byte boundary.
std::string npyFile(int major, const std::string& dict, const std::string& data) {
    const size_t prefix = major == 1 ? 10 : 12;
    std::string header = dict;
    header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
    header += '\n';
    std::string bytes = "\x93NUMPY";
    bytes += char(major);
    bytes += char(0);
    const size_t lengthBytes = major == 1 ? 2 : 4;
    for (size_t i = 0; i < lengthBytes; ++i) bytes += char((header.size() >> (8 * i)) & 0xff);
    return bytes + header + data;
}

template <typename T>
std::string rawBytes(const std::vector<T>& values) {
    return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

std::string dict(const std::string& descr, const std::string& shape, const std::string& fortran = "False") {
    return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
}

// Bitwise equality: also distinguishes -0.0 from 0.0 and compares NaN payloads.
bool sameBytes(const at::Tensor& a, const at::Tensor& b) {
    if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
    const auto ca = a.contiguous(), cb = b.contiguous();
    const size_t bytes = size_t(ca.numel()) * ca.element_size();
    // An empty tensor's data_ptr() is null, and memcmp on null is undefined even for 0 bytes.
    return bytes == 0 || std::memcmp(ca.data_ptr(), cb.data_ptr(), bytes) == 0;
}

std::string shapeText(const at::Tensor& t) {
    std::ostringstream s;
    s << t.scalar_type() << " " << t.sizes();
    return s.str();
}

}  // namespace

class TestNpy : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::string path(const std::string& name) const { return (m_dir.path() + "/").toStdString() + name; }

    // Saves and reloads `tensor`, requiring the same dtype, shape and bytes.
    void checkRoundTrip(const at::Tensor& tensor, const std::string& name) {
        const std::string file = path(name);
        dcscope::saveNpy(file, tensor);
        const at::Tensor loaded = dcscope::loadNpy(file);
        QVERIFY2(loaded.device().is_cpu(), name.c_str());
        QVERIFY2(sameBytes(loaded, tensor.contiguous()), (name + ": " + shapeText(tensor) + " vs " + shapeText(loaded)).c_str());
    }

    void checkAllShapes(at::ScalarType type, const std::string& tag) {
        const auto options = at::TensorOptions().dtype(type);
        const bool floating = at::isFloatingType(type);
        auto values = [&](at::IntArrayRef shape) {
            if (floating) return at::randn(shape, at::TensorOptions().dtype(at::kDouble)).mul(1e3).to(type);
            return at::randint(-1000000, 1000000, shape, options);
        };
        checkRoundTrip(values({}), tag + "_0d.npy");
        checkRoundTrip(values({1}), tag + "_1.npy");
        checkRoundTrip(values({17}), tag + "_17.npy");
        checkRoundTrip(values({2, 3, 4, 5}), tag + "_4d.npy");
        checkRoundTrip(at::empty({0}, options), tag + "_0.npy");
        checkRoundTrip(at::empty({3, 0, 2}, options), tag + "_3x0x2.npy");
        // Non-contiguous input is written in C order.
        checkRoundTrip(values({4, 6}).t(), tag + "_transposed.npy");
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        at::manual_seed(1234);
    }

    void roundTripFloat32() {
        checkAllShapes(at::kFloat, "f4");
        // Special values survive bit for bit.
        const float inf = std::numeric_limits<float>::infinity();
        checkRoundTrip(at::tensor(std::vector<float>{-0.0f, inf, -inf, std::numeric_limits<float>::denorm_min(),
                                                      std::numeric_limits<float>::max(), 1e-30f}),
                       "f4_special.npy");
    }

    void roundTripFloat64() {
        checkAllShapes(at::kDouble, "f8");
        checkRoundTrip(at::tensor(std::vector<double>{-0.0, std::numeric_limits<double>::denorm_min(),
                                                       std::numeric_limits<double>::lowest(), 0.1}),
                       "f8_special.npy");
    }

    void roundTripInt64() {
        checkAllShapes(at::kLong, "i8");
        checkRoundTrip(at::tensor(std::vector<int64_t>{std::numeric_limits<int64_t>::min(), -1, 0,
                                                        std::numeric_limits<int64_t>::max()}),
                       "i8_extremes.npy");
    }

    void roundTripInt32() {
        checkAllShapes(at::kInt, "i4");
        checkRoundTrip(at::tensor(std::vector<int32_t>{std::numeric_limits<int32_t>::min(), -1, 0,
                                                        std::numeric_limits<int32_t>::max()}),
                       "i4_extremes.npy");
    }

    void savedFileHasNumpyLayout() {
        const std::string file = path("layout.npy");
        dcscope::saveNpy(file, at::arange(3, at::kFloat));
        const std::string bytes = dcscope::readFile(file);
        QVERIFY(bytes.size() > 10);
        QCOMPARE(bytes.substr(0, 6), std::string("\x93NUMPY"));
        QCOMPARE(int(bytes[6]), 1);
        QCOMPARE(int(bytes[7]), 0);
        const size_t headerLength = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
        QCOMPARE((10 + headerLength) % 64, size_t(0));
        QCOMPARE(bytes.size(), 10 + headerLength + 3 * sizeof(float));
        const std::string header = bytes.substr(10, headerLength);
        QCOMPARE(header.back(), '\n');
        QVERIFY2(header.find("'descr': '<f4'") != std::string::npos, header.c_str());
        QVERIFY2(header.find("'fortran_order': False") != std::string::npos, header.c_str());
        QVERIFY2(header.find("'shape': (3,)") != std::string::npos, header.c_str());
        const std::vector<float> expected{0.0f, 1.0f, 2.0f};
        QCOMPARE(bytes.substr(10 + headerLength), rawBytes(expected));

        dcscope::saveNpy(file, at::zeros({2, 3, 4}, at::kLong));
        QVERIFY(dcscope::readFile(file).find("'descr': '<i8', 'fortran_order': False, 'shape': (2, 3, 4)") != std::string::npos);
        dcscope::saveNpy(file, at::scalar_tensor(2.5, at::kDouble));
        QVERIFY(dcscope::readFile(file).find("'shape': ()") != std::string::npos);
    }

    void loadsHandWrittenVersion1() {
        const std::vector<float> f{1.5f, -2.0f, 3.25f, 0.0f, 1e-7f, -1e7f};
        writeBytes(path("v1_f4.npy"), npyFile(1, dict("<f4", "(2, 3)"), rawBytes(f)));
        const auto a = dcscope::loadNpy(path("v1_f4.npy"));
        QCOMPARE(a.scalar_type(), at::kFloat);
        QCOMPARE(a.sizes().vec(), (std::vector<int64_t>{2, 3}));
        QVERIFY(at::equal(a, at::tensor(f).view({2, 3})));

        const std::vector<int64_t> i{7, -8, 9};
        writeBytes(path("v1_i8.npy"), npyFile(1, dict("<i8", "(3,)"), rawBytes(i)));
        const auto b = dcscope::loadNpy(path("v1_i8.npy"));
        QCOMPARE(b.scalar_type(), at::kLong);
        QVERIFY(at::equal(b, at::tensor(i)));

        const std::vector<double> d{3.141592653589793};
        writeBytes(path("v1_f8_scalar.npy"), npyFile(1, dict("<f8", "()"), rawBytes(d)));
        const auto c = dcscope::loadNpy(path("v1_f8_scalar.npy"));
        QCOMPARE(c.dim(), int64_t(0));
        QCOMPARE(c.item<double>(), d[0]);

        const std::vector<int32_t> n{1, 2, 3, 4};
        writeBytes(path("v1_i4.npy"), npyFile(1, dict("<i4", "(1, 2, 1, 2)"), rawBytes(n)));
        const auto e = dcscope::loadNpy(path("v1_i4.npy"));
        QCOMPARE(e.scalar_type(), at::kInt);
        QCOMPARE(e.sizes().vec(), (std::vector<int64_t>{1, 2, 1, 2}));
        QVERIFY(at::equal(e.flatten(), at::tensor(n)));

        writeBytes(path("v1_empty.npy"), npyFile(1, dict("<f4", "(0, 5)"), ""));
        const auto g = dcscope::loadNpy(path("v1_empty.npy"));
        QCOMPARE(g.sizes().vec(), (std::vector<int64_t>{0, 5}));
    }

    void loadsHandWrittenVersion2() {
        const std::vector<double> d{1.0, 2.0, -3.0, 4.5};
        const std::string bytes = npyFile(2, dict("<f8", "(2, 2)"), rawBytes(d));
        QCOMPARE((12 + (static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8))) % 64, 0);
        writeBytes(path("v2_f8.npy"), bytes);
        const auto a = dcscope::loadNpy(path("v2_f8.npy"));
        QCOMPARE(a.scalar_type(), at::kDouble);
        QVERIFY(at::equal(a, at::tensor(d).view({2, 2})));
        // A header longer than 65535 bytes is what version 2.0 exists for.
        std::string longDict = dict("<i4", "(2,)");
        longDict.insert(longDict.size() - 1, std::string(70000, ' '));
        const std::vector<int32_t> n{-5, 6};
        writeBytes(path("v2_long.npy"), npyFile(2, longDict, rawBytes(n)));
        QVERIFY(at::equal(dcscope::loadNpy(path("v2_long.npy")), at::tensor(n)));
    }

    void missingFile() {
        const std::string file = path("does_not_exist.npy");
        DCSCOPE_EXPECT_ERROR(dcscope::loadNpy(file), ErrorCode::BadFile, file);
    }

    void badMagic() {
        const std::vector<float> f{1.0f, 2.0f};
        std::string bytes = npyFile(1, dict("<f4", "(2,)"), rawBytes(f));
        bytes[1] = 'X';
        const std::string file = path("bad_magic.npy");
        writeBytes(file, bytes);
        DCSCOPE_EXPECT_ERROR(dcscope::loadNpy(file), ErrorCode::BadFile, file);
        writeBytes(file, "just some text, not numpy at all");
        DCSCOPE_EXPECT_ERROR(dcscope::loadNpy(file), ErrorCode::BadFile, file);
        writeBytes(file, "");
        DCSCOPE_EXPECT_ERROR(dcscope::loadNpy(file), ErrorCode::BadFile, file);
        // An unknown format version is rejected too.
        bytes = npyFile(1, dict("<f4", "(2,)"), rawBytes(f));
        bytes[6] = char(9);
        writeBytes(file, bytes);
        DCSCOPE_EXPECT_ERROR(dcscope::loadNpy(file), ErrorCode::BadFile, file);
    }

    void truncatedHeader() {
        const std::vector<float> f{1.0f, 2.0f};
        const std::string full = npyFile(1, dict("<f4", "(2,)"), rawBytes(f));
        const std::string file = path("truncated_header.npy");
        for (size_t cut : {size_t(8), size_t(9), size_t(10), size_t(30), size_t(63)}) {
            writeBytes(file, full.substr(0, cut));
            DCSCOPE_EXPECT_ERROR(dcscope::loadNpy(file), ErrorCode::BadFile, file);
        }
        const std::string full2 = npyFile(2, dict("<f4", "(2,)"), rawBytes(f));
        for (size_t cut : {size_t(10), size_t(11), size_t(40)}) {
            writeBytes(file, full2.substr(0, cut));
            DCSCOPE_EXPECT_ERROR(dcscope::loadNpy(file), ErrorCode::BadFile, file);
        }
    }

    void truncatedData() {
        const std::vector<double> d(24, 1.0);
        const std::string full = npyFile(1, dict("<f8", "(2, 3, 4)"), rawBytes(d));
        const std::string file = path("truncated_data.npy");
        for (size_t missing : {size_t(1), size_t(8), size_t(100), size_t(24 * 8)}) {
            writeBytes(file, full.substr(0, full.size() - missing));
            DCSCOPE_EXPECT_ERROR(dcscope::loadNpy(file), ErrorCode::BadFile, file);
            DCSCOPE_EXPECT_ERROR(dcscope::loadNpy(file), ErrorCode::BadFile, "truncated");
        }
    }

    void unsupportedDtype() {
        const std::string file = path("dtype.npy");
        for (const char* descr : {">f4", "<f2", "|b1", ">i8", "<u1", "<c8", "|O"}) {
            writeBytes(file, npyFile(1, dict(descr, "(4,)"), std::string(64, '\0')));
            DCSCOPE_EXPECT_ERROR(dcscope::loadNpy(file), ErrorCode::BadFile, file);
            DCSCOPE_EXPECT_ERROR(dcscope::loadNpy(file), ErrorCode::BadFile, descr);
        }
    }

    void fortranOrder() {
        const std::string file = path("fortran.npy");
        const std::vector<float> f(6, 0.5f);
        writeBytes(file, npyFile(1, dict("<f4", "(2, 3)", "True"), rawBytes(f)));
        DCSCOPE_EXPECT_ERROR(dcscope::loadNpy(file), ErrorCode::BadFile, file);
        DCSCOPE_EXPECT_ERROR(dcscope::loadNpy(file), ErrorCode::BadFile, "ortran");
    }

    void garbageShape() {
        const std::string file = path("shape.npy");
        // Enough data for any small reading of these shapes, so only the shape itself can fail.
        const std::string data(4096, '\0');
        for (const char* shape : {"(2, x)", "(two,)", "[2, 3]", "(2x, 3)", "(-1,)", "(2, -3)", "(1.5,)", "None",
                                  "(4294967296, 4294967296, 4)", "(99999999999999999999,)", "(2, 3"}) {
            writeBytes(file, npyFile(1, dict("<f4", shape), data));
            const std::string failure = dcscope::testing::expectError([&] { dcscope::loadNpy(file); }, ErrorCode::BadFile, file);
            QVERIFY2(failure.empty(), (std::string("shape ") + shape + ": " + failure).c_str());
        }
        // A header without the shape key at all.
        writeBytes(file, npyFile(1, "{'descr': '<f4', 'fortran_order': False, }", data));
        DCSCOPE_EXPECT_ERROR(dcscope::loadNpy(file), ErrorCode::BadFile, "shape");
    }

    void saveRejectsUnsupportedDtype() {
        const std::string file = path("bool.npy");
        DCSCOPE_EXPECT_ERROR(dcscope::saveNpy(file, at::ones({3}, at::kBool)), ErrorCode::InvalidArgument, file);
        QVERIFY(!std::filesystem::exists(file));
    }

    void atomicWriteReplacesExistingFile() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string file = dir.path().toStdString() + "/data.bin";
        std::string old(100000, 'o');
        dcscope::writeFileAtomically(file, old);
        QCOMPARE(dcscope::readFile(file), old);
        std::string fresh = "new content\n";
        for (int i = 0; i < 256; ++i) fresh += char(i);
        dcscope::writeFileAtomically(file, fresh);
        QCOMPARE(dcscope::readFile(file), fresh);
        dcscope::writeFileAtomically(file, "");
        QCOMPARE(dcscope::readFile(file), std::string());
        // No temporary files are left behind.
        QCOMPARE(folderEntries(dir.path().toStdString()), std::vector<std::string>{"data.bin"});

        // saveNpy over an existing file goes the same way.
        const std::string npy = dir.path().toStdString() + "/t.npy";
        dcscope::saveNpy(npy, at::ones({1000}));
        dcscope::saveNpy(npy, at::arange(5, at::kLong));
        QVERIFY(at::equal(dcscope::loadNpy(npy), at::arange(5, at::kLong)));
        QCOMPARE(folderEntries(dir.path().toStdString()), (std::vector<std::string>{"data.bin", "t.npy"}));
    }

    void atomicWriteIntoMissingFolder() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string root = dir.path().toStdString();
        const std::string file = root + "/missing/sub/data.bin";
        DCSCOPE_EXPECT_ERROR(dcscope::writeFileAtomically(file, "content"), ErrorCode::BadFile, file);
        DCSCOPE_EXPECT_ERROR(dcscope::saveNpy(file, at::ones({2})), ErrorCode::BadFile, file);
        QVERIFY(!std::filesystem::exists(root + "/missing"));
        QVERIFY(folderEntries(root).empty());
    }
};

QTEST_APPLESS_MAIN(TestNpy)
#include "test_npy.moc"
