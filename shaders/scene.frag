#version 330 core
// The scene in one pass: the solver layers (premultiplied colour) over the density, or over
// the background where the density is off. One pass instead of one per layer keeps a frame
// cheap on a software renderer.
in vec2 textureCoordinate;
out vec4 colour;
uniform sampler2D density;
uniform sampler2D solvers;
uniform bool hasDensity;
uniform vec3 background;
void main() {
    vec4 above = texture(solvers, textureCoordinate);
    vec3 below = hasDensity ? texture(density, textureCoordinate).rgb : background;
    colour = vec4(above.rgb + below * (1.0 - above.a), 1.0);
}
