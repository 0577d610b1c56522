#version 330 core
// Paths, segments and markers in data coordinates, one colour per vertex.
layout(location = 0) in vec2 position;
layout(location = 1) in vec4 vertexColour;
uniform mat3 dataToClip;
uniform float pointSize;
out vec4 strokeColour;
void main() {
    gl_Position = vec4((dataToClip * vec3(position, 1.0)).xy, 0.0, 1.0);
    gl_PointSize = pointSize;
    strokeColour = vertexColour;
}
