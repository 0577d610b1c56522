#pragma once

#include <string>

#include <ATen/core/Tensor.h>

namespace dcscope {

/// Reads a NumPy .npy file (format 1.0-3.0, little-endian float32/float64/int64/int32, C order)
/// into a CPU tensor of the same dtype. Throws Error(BadFile) naming the file on any problem.
at::Tensor loadNpy(const std::string& path);
/// The same from the file's bytes in memory; `source` names the file in errors. Any thread.
at::Tensor parseNpy(const std::string& bytes, const std::string& source);

/// Writes a tensor (float32/float64/int64/int32, any device) as .npy, atomically: the file is
/// either the old one or the complete new one, never a partial write.
void saveNpy(const std::string& path, const at::Tensor& tensor);

/// Writes bytes to `path` through a temporary file in the same folder and a rename.
void writeFileAtomically(const std::string& path, const std::string& bytes);

/// Reads a whole file; throws Error(BadFile) naming it when missing or unreadable.
std::string readFile(const std::string& path);

}  // namespace dcscope
