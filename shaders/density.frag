#version 330 core
// The marginal density of a 2-D Gaussian mixture at time t, in closed form: the data
// distribution sum_i w_i N(mu_i, s_i^2 I) pushed through x_t = alpha x_0 + sigma eps gives
// sum_i w_i N(alpha mu_i, v_i I), v_i = alpha^2 s_i^2 + sigma^2. The view works out each mode's
// constants once per time; a pixel only sums the exponentials.
in vec2 dataPosition;
out vec4 colour;
const int kMaxModes = 64;
uniform int modeCount;
uniform vec2 centres[kMaxModes];  // alpha mu_i
uniform float gains[kMaxModes];   // w_i / (2 pi v_i), over the highest such peak (shown at full strength)
uniform float rates[kMaxModes];   // 1 / (2 v_i)
uniform vec3 lowColour;
uniform vec3 highColour;
void main() {
    float density = 0.0;
    for (int i = 0; i < modeCount; ++i) {
        vec2 d = dataPosition - centres[i];
        density += gains[i] * exp(-rates[i] * dot(d, d));
    }
    // A square root keeps the tails visible next to the peaks.
    float strength = sqrt(clamp(density, 0.0, 1.0));
    colour = vec4(mix(lowColour, highColour, strength), 1.0);
}
