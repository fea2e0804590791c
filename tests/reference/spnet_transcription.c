/*
 * Side-by-side reference for the `izhikevich2006` model: a transcription, in
 * plain C, of the algorithm of Izhikevich's published spnet.cpp (2004;
 * Izhikevich 2006, Neural Comput 18:245, doi:10.1162/089976606775093882),
 * written for this project. It keeps spnet's order of operations and its
 * single-precision arithmetic:
 *
 *   each 1 ms step t: I = 0; I[one random neuron] = 20 (thalamic input);
 *   every neuron with v >= 30 is reset (v = -65, u += d), its trace LTP is
 *   set to 0.1 and LTD to 0.12, and every incoming excitatory synapse gains
 *   sd += LTP_pre(t - delay - 1); then every spike fired 0..19 steps ago is
 *   delivered along the synapses of that delay (I += s) and, for excitatory
 *   ones, sd -= LTD_post; then v takes two 0.5 ms Euler half-steps, u one
 *   1 ms step with the new v, and both traces decay by 0.95.
 *   Once per second: s += 0.01 + sd, sd *= 0.9, s clipped to [0, 10].
 *
 * Wiring: 800 RS + 200 FS neurons, 100 distinct targets each (no self
 * synapses; inhibitory ones onto excitatory neurons only); excitatory delays
 * j / 5 for synapse j (5 per delay 0..19), inhibitory delay 0; weights 6 and
 * -5. The random streams (xorshift64) differ from spnet's rand(), so runs
 * agree with spnet statistically, not spike for spike.
 *
 * Usage: spnet_transcription SECONDS SEED INPUT SPIKES_OUT WEIGHTS_OUT
 *   INPUT 0: one random neuron per ms (spnet); 1: independent 1 Hz Poisson
 *   input per neuron (as in the `izhikevich2006` model).
 *   SPIKES_OUT: int32 pairs (t_ms, neuron) of the last 60 s.
 *   WEIGHTS_OUT: float32 excitatory weights, row-major [800][100].
 */
#include <stdio.h>
#include <stdlib.h>

#define NE 800
#define NI 200
#define N (NE + NI)
#define M 100
#define D 20
#define MAX_FIRED (200 * N)

static int post[N][M];
static float s[N][M], sd[N][M];
static int n_pre[N], pre_of[N][3 * M], syn_of[N][3 * M], delay_of[N][3 * M];
static float ltp[N][1001 + D], ltd[N], a[N], d[N], v[N], u[N];
static int fired_t[MAX_FIRED], fired_i[MAX_FIRED];
static unsigned long long state = 88172645463325252ULL;

static unsigned draw(unsigned bound) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (unsigned)(state % bound);
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s SECONDS SEED INPUT SPIKES_OUT WEIGHTS_OUT\n", argv[0]);
        return 2;
    }
    int seconds = atoi(argv[1]), poisson = atoi(argv[3]);
    state += (unsigned long long)atoll(argv[2]) * 0x9E3779B97F4A7C15ULL;
    FILE *spikes = fopen(argv[4], "wb");
    if (!spikes) return 1;
    for (int i = 0; i < N; i++) {
        a[i] = i < NE ? 0.02f : 0.1f;
        d[i] = i < NE ? 8.0f : 2.0f;
        v[i] = -65.0f;
        u[i] = 0.2f * v[i];
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < M; j++) {
            int r, taken;
            do {
                r = i < NE ? (int)draw(N) : (int)draw(NE);
                taken = r == i;
                for (int k = 0; k < j; k++) taken |= post[i][k] == r;
            } while (taken);
            post[i][j] = r;
            s[i][j] = i < NE ? 6.0f : -5.0f;
        }
    for (int i = 0; i < NE; i++)
        for (int j = 0; j < M; j++) {
            int p = post[i][j], k = n_pre[p]++;
            pre_of[p][k] = i;
            syn_of[p][k] = j;
            delay_of[p][k] = j / (M / D);
        }
    int n_fired = 1;
    fired_t[0] = -D; /* sentinel, as in spnet */
    fired_i[0] = 0;
    float current[N];
    for (int sec = 0; sec < seconds; sec++) {
        for (int t = 0; t < 1000; t++) {
            for (int i = 0; i < N; i++) current[i] = 0.0f;
            if (poisson) {
                for (int i = 0; i < N; i++)
                    if (draw(1000000) < 1000) current[i] = 20.0f;
            } else {
                current[draw(N)] = 20.0f;
            }
            for (int i = 0; i < N; i++) {
                if (v[i] < 30.0f) continue;
                v[i] = -65.0f;
                u[i] += d[i];
                ltp[i][t + D] = 0.1f;
                ltd[i] = 0.12f;
                for (int k = 0; k < n_pre[i]; k++)
                    sd[pre_of[i][k]][syn_of[i][k]] += ltp[pre_of[i][k]][t + D - delay_of[i][k] - 1];
                if (n_fired == MAX_FIRED) {
                    fprintf(stderr, "more than %d spikes in one second\n", MAX_FIRED);
                    return 1;
                }
                fired_t[n_fired] = t;
                fired_i[n_fired++] = i;
                if (sec >= seconds - 60) {
                    int rec[2] = {sec * 1000 + t, i};
                    fwrite(rec, sizeof(int), 2, spikes);
                }
            }
            for (int k = n_fired - 1; t - fired_t[k] < D; k--) {
                int pre = fired_i[k], lag = t - fired_t[k];
                int j0 = pre < NE ? lag * (M / D) : 0;
                int j1 = pre < NE ? j0 + M / D : (lag == 0 ? M : 0);
                for (int j = j0; j < j1; j++) {
                    int i = post[pre][j];
                    current[i] += s[pre][j];
                    if (pre < NE) sd[pre][j] -= ltd[i];
                }
            }
            for (int i = 0; i < N; i++) {
                v[i] += 0.5f * ((0.04f * v[i] + 5.0f) * v[i] + 140.0f - u[i] + current[i]);
                v[i] += 0.5f * ((0.04f * v[i] + 5.0f) * v[i] + 140.0f - u[i] + current[i]);
                u[i] += a[i] * (0.2f * v[i] - u[i]);
                ltp[i][t + D + 1] = 0.95f * ltp[i][t + D];
                ltd[i] *= 0.95f;
            }
        }
        for (int i = 0; i < N; i++)
            for (int j = 0; j < D + 1; j++) ltp[i][j] = ltp[i][1000 + j];
        int k = n_fired - 1;
        while (1000 - fired_t[k] < D) k--;
        for (int m = 1; m < n_fired - k; m++) {
            fired_t[m] = fired_t[k + m] - 1000;
            fired_i[m] = fired_i[k + m];
        }
        n_fired -= k;
        for (int i = 0; i < NE; i++)
            for (int j = 0; j < M; j++) {
                s[i][j] += 0.01f + sd[i][j];
                sd[i][j] *= 0.9f;
                if (s[i][j] > 10.0f) s[i][j] = 10.0f;
                if (s[i][j] < 0.0f) s[i][j] = 0.0f;
            }
    }
    fclose(spikes);
    FILE *weights = fopen(argv[5], "wb");
    if (!weights) return 1;
    for (int i = 0; i < NE; i++) fwrite(s[i], sizeof(float), M, weights);
    fclose(weights);
    return 0;
}
