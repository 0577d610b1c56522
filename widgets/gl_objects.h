#pragma once

#include <stdexcept>
#include <string>
#include <utility>

#include <QImage>
#include <QOpenGLFunctions_3_3_Core>
#include <QString>

// Move-only owners of OpenGL objects: each deletes its object with the functions of the context
// it was made in, which must be current then (the owning widget makes it current first).

/// A failure to build a GL object, e.g. a shader's compile log, as one line.
class GlError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Common move-only handling of one GL name.
class GlName {
public:
    GlName() = default;
    GlName(const GlName&) = delete;
    GlName& operator=(const GlName&) = delete;
    GlName(GlName&& other) noexcept : m_gl(other.m_gl), m_name(std::exchange(other.m_name, 0)) {}
    GlName& operator=(GlName&& other) noexcept {
        std::swap(m_gl, other.m_gl);
        std::swap(m_name, other.m_name);
        return *this;
    }
    GLuint name() const { return m_name; }
    explicit operator bool() const { return m_name != 0; }

protected:
    GlName(QOpenGLFunctions_3_3_Core* gl, GLuint name) : m_gl(gl), m_name(name) {}
    QOpenGLFunctions_3_3_Core* m_gl = nullptr;
    GLuint m_name = 0;
};

class GlBuffer : public GlName {
public:
    GlBuffer() = default;
    explicit GlBuffer(QOpenGLFunctions_3_3_Core* gl);
    GlBuffer(GlBuffer&&) noexcept = default;
    GlBuffer& operator=(GlBuffer&&) noexcept = default;
    ~GlBuffer();
};

class GlVertexArray : public GlName {
public:
    GlVertexArray() = default;
    explicit GlVertexArray(QOpenGLFunctions_3_3_Core* gl);
    GlVertexArray(GlVertexArray&&) noexcept = default;
    GlVertexArray& operator=(GlVertexArray&&) noexcept = default;
    ~GlVertexArray();
};

/// A 2-D RGBA texture holding an image (nearest filtering: samples are shown pixel for pixel).
class GlTexture : public GlName {
public:
    GlTexture() = default;
    /// Uploads `image` (any format; converted to RGBA8888).
    GlTexture(QOpenGLFunctions_3_3_Core* gl, const QImage& image);
    GlTexture(GlTexture&&) noexcept = default;
    GlTexture& operator=(GlTexture&&) noexcept = default;
    ~GlTexture();
};

/// A linked program from a vertex and a fragment shader (GLSL sources, e.g. from the embedded
/// :/shaders files). Throws GlError with the first line of the compile or link log, naming the
/// shader.
class GlProgram : public GlName {
public:
    GlProgram() = default;
    GlProgram(QOpenGLFunctions_3_3_Core* gl, const QString& vertexName, const QByteArray& vertexSource,
              const QString& fragmentName, const QByteArray& fragmentSource);
    GlProgram(GlProgram&&) noexcept = default;
    GlProgram& operator=(GlProgram&&) noexcept = default;
    ~GlProgram();
    GLint uniform(const char* name) const;
};

/// Reads an embedded shader (e.g. ":/shaders/density.frag"); GlError when it is missing.
QByteArray readShaderSource(const QString& resource);
