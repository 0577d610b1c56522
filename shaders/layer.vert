#version 330 core
// A full-screen quad that shows a cached layer (a texture the size of the view).
layout(location = 0) in vec2 corner;
out vec2 textureCoordinate;
void main() {
    textureCoordinate = corner * 0.5 + 0.5;
    gl_Position = vec4(corner, 0.0, 1.0);
}
