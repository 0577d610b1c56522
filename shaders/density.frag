#version 330 core
// The marginal density of a 2-D Gaussian mixture at time t, in closed form: the data
// distribution sum_i w_i N(mu_i, s_i^2 I) pushed through x_t = alpha x_0 + sigma eps gives
// sum_i w_i N(alpha mu_i, (alpha^2 s_i^2 + sigma^2) I).
in vec2 dataPosition;
out vec4 colour;
const int kMaxModes = 64;
uniform int modeCount;
uniform vec2 means[kMaxModes];
uniform float weights[kMaxModes];  // normalised to sum 1
uniform float stds[kMaxModes];
uniform float alpha;
uniform float sigma;
uniform float peak;        // the density shown at full strength (the highest mode's peak)
uniform vec3 lowColour;
uniform vec3 highColour;
void main() {
    float density = 0.0;
    for (int i = 0; i < modeCount; ++i) {
        float variance = alpha * alpha * stds[i] * stds[i] + sigma * sigma;
        vec2 d = dataPosition - alpha * means[i];
        density += weights[i] * exp(-0.5 * dot(d, d) / variance) / (6.28318530718 * variance);
    }
    // A square root keeps the tails visible next to the peaks.
    float strength = sqrt(clamp(density / peak, 0.0, 1.0));
    colour = vec4(mix(lowColour, highColour, strength), 1.0);
}
