#include "gl_objects.h"

#include <QFile>

namespace {

std::string firstLine(const std::string& log) {
    const auto end = log.find('\n');
    std::string line = log.substr(0, end);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    return line.empty() ? std::string("no log") : line;
}

GLuint compile(QOpenGLFunctions_3_3_Core* gl, GLenum type, const QString& name, const QByteArray& source) {
    const GLuint shader = gl->glCreateShader(type);
    const char* text = source.constData();
    const GLint length = GLint(source.size());
    gl->glShaderSource(shader, 1, &text, &length);
    gl->glCompileShader(shader);
    GLint ok = GL_FALSE;
    gl->glGetShaderiv(shader, GL_COMPILE_STATUS, &ok);
    if (ok == GL_TRUE) return shader;
    GLint logLength = 0;
    gl->glGetShaderiv(shader, GL_INFO_LOG_LENGTH, &logLength);
    std::string log(size_t(std::max(logLength, 1)), '\0');
    gl->glGetShaderInfoLog(shader, GLsizei(log.size()), nullptr, log.data());
    gl->glDeleteShader(shader);
    throw GlError(name.toStdString() + ": does not compile: " + firstLine(log.c_str()));
}

}  // namespace

GlBuffer::GlBuffer(QOpenGLFunctions_3_3_Core* gl) : GlName(gl, 0) { gl->glGenBuffers(1, &m_name); }

GlBuffer::~GlBuffer() {
    if (m_name) m_gl->glDeleteBuffers(1, &m_name);
}

GlVertexArray::GlVertexArray(QOpenGLFunctions_3_3_Core* gl) : GlName(gl, 0) { gl->glGenVertexArrays(1, &m_name); }

GlVertexArray::~GlVertexArray() {
    if (m_name) m_gl->glDeleteVertexArrays(1, &m_name);
}

GlTexture::GlTexture(QOpenGLFunctions_3_3_Core* gl, const QImage& image) : GlName(gl, 0) {
    const QImage rgba = image.convertToFormat(QImage::Format_RGBA8888);
    gl->glGenTextures(1, &m_name);
    gl->glBindTexture(GL_TEXTURE_2D, m_name);
    gl->glPixelStorei(GL_UNPACK_ALIGNMENT, 4);  // RGBA8888 rows are whole words
    gl->glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, rgba.width(), rgba.height(), 0, GL_RGBA, GL_UNSIGNED_BYTE, rgba.constBits());
    gl->glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
    gl->glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    gl->glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
    gl->glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
    gl->glBindTexture(GL_TEXTURE_2D, 0);
}

GlTexture::~GlTexture() {
    if (m_name) m_gl->glDeleteTextures(1, &m_name);
}

GlProgram::GlProgram(QOpenGLFunctions_3_3_Core* gl, const QString& vertexName, const QByteArray& vertexSource,
                     const QString& fragmentName, const QByteArray& fragmentSource)
    : GlName(gl, 0) {
    const GLuint vertex = compile(gl, GL_VERTEX_SHADER, vertexName, vertexSource);
    GLuint fragment = 0;
    try {
        fragment = compile(gl, GL_FRAGMENT_SHADER, fragmentName, fragmentSource);
    } catch (...) {
        gl->glDeleteShader(vertex);
        throw;
    }
    m_name = gl->glCreateProgram();
    gl->glAttachShader(m_name, vertex);
    gl->glAttachShader(m_name, fragment);
    gl->glLinkProgram(m_name);
    gl->glDeleteShader(vertex);  // flagged for deletion; freed with the program
    gl->glDeleteShader(fragment);
    GLint ok = GL_FALSE;
    gl->glGetProgramiv(m_name, GL_LINK_STATUS, &ok);
    if (ok == GL_TRUE) return;
    GLint logLength = 0;
    gl->glGetProgramiv(m_name, GL_INFO_LOG_LENGTH, &logLength);
    std::string log(size_t(std::max(logLength, 1)), '\0');
    gl->glGetProgramInfoLog(m_name, GLsizei(log.size()), nullptr, log.data());
    gl->glDeleteProgram(std::exchange(m_name, 0));
    throw GlError((vertexName + QStringLiteral(" + ") + fragmentName).toStdString() + ": does not link: " + firstLine(log.c_str()));
}

GlProgram::~GlProgram() {
    if (m_name) m_gl->glDeleteProgram(m_name);
}

GLint GlProgram::uniform(const char* name) const { return m_gl->glGetUniformLocation(m_name, name); }

QByteArray readShaderSource(const QString& resource) {
    QFile file(resource);
    if (!file.open(QIODevice::ReadOnly)) throw GlError(resource.toStdString() + ": shader not found");
    return file.readAll();
}
