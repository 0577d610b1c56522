#version 330 core
// A full-screen quad; the fragment shader evaluates the density at each pixel's data position.
layout(location = 0) in vec2 corner;  // clip coordinates, -1..1
out vec2 dataPosition;
uniform mat3 clipToData;
void main() {
    dataPosition = (clipToData * vec3(corner, 1.0)).xy;
    gl_Position = vec4(corner, 0.0, 1.0);
}
