#version 330 core
// A quad that shows a cached layer (a texture the size of the view): full-screen, or moved and
// scaled by `placement` (scale x, y, offset x, y in clip units) while a pan or zoom settles.
layout(location = 0) in vec2 corner;
out vec2 textureCoordinate;
uniform vec4 placement;
void main() {
    textureCoordinate = corner * 0.5 + 0.5;
    gl_Position = vec4(corner * placement.xy + placement.zw, 0.0, 1.0);
}
