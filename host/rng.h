/* rng.h: the host's seeded pseudo-random generator, for the sim feed and the synthetic
 * data generator: xoshiro256** seeded through splitmix64. A pure function of the seed:
 * the same seed gives the same stream on every machine (no libc rand). Not for
 * anything secret. */
#ifndef LUATRADE_RNG_H
#define LUATRADE_RNG_H

#include <stdint.h>

struct rng {
    uint64_t s[4];
};

/* The state from seed (four splitmix64 outputs). */
void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, 1): the top 53 bits. */
double rng_uniform(struct rng *r);
/* Uniform integer in [0, n), n >= 1, without modulo bias (Lemire's multiply-and-reject). */
uint64_t rng_below(struct rng *r, uint64_t n);

#endif
