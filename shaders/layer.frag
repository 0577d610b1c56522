#version 330 core
// The layer holds premultiplied colour: it is composed with (ONE, ONE_MINUS_SRC_ALPHA).
in vec2 textureCoordinate;
out vec4 colour;
uniform sampler2D layer;
void main() {
    colour = texture(layer, textureCoordinate);
}
