#version 330 core
in vec4 strokeColour;
out vec4 colour;
uniform bool roundPoints;
void main() {
    // Markers are drawn as discs: discard the corners of the point sprite.
    if (roundPoints && length(gl_PointCoord - vec2(0.5)) > 0.5) discard;
    colour = strokeColour;
}
