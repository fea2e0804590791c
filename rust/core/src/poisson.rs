//! Poisson counts for input generators: one draw per neuron per step.

use rand::RngExt;
use rand_distr::{Distribution, Poisson};

use crate::rng::Stream;
use crate::validate::positive;
use crate::{Error, Result};

/// Means below this use table inversion; larger ones rand_distr's sampler.
const TABLE_MAX_MEAN: f64 = 30.0;

/// Buckets of the guide table of [`PoissonCounts::Table`].
const GUIDE: usize = 64;

/// A Poisson(`mean`) sampler.
///
/// For the small means of per-step input counts (a few per step) it inverts
/// the cumulative distribution from a precomputed table: one uniform draw
/// `u`, and the count is the number of cumulative probabilities `<= u`,
/// found from a guide table (the count at the left end of `u`'s bucket of
/// [0, 1), then a forward scan, usually of zero or one step; Devroye 1986,
/// sec. III.2.4): the same count as a scan of the whole table, several
/// times cheaper than a general-purpose sampler. The table runs until the
/// remaining tail is below 1e-16, so the truncation is below
/// double-precision resolution.
#[derive(Clone, Debug)]
pub enum PoissonCounts {
    /// Cumulative probabilities `P(K <= k)`, and for each bucket
    /// `[b / GUIDE, (b + 1) / GUIDE)` the number of them `<= b / GUIDE`.
    Table(Vec<f64>, Vec<u16>),
    /// Large means.
    Sampler(Poisson<f64>),
}

impl PoissonCounts {
    /// A sampler for `mean` (> 0).
    pub fn new(mean: f64) -> Result<Self> {
        positive("mean", mean)?;
        if mean >= TABLE_MAX_MEAN {
            return Poisson::new(mean)
                .map(Self::Sampler)
                .map_err(|e| Error::invalid("mean", mean, e.to_string()));
        }
        let mut cdf = Vec::new();
        let mut p = (-mean).exp();
        let mut total = p;
        let mut k = 0.0;
        while 1.0 - total > 1e-16 && cdf.len() < 1000 {
            cdf.push(total);
            k += 1.0;
            p *= mean / k;
            total += p;
        }
        cdf.push(1.0);
        let guide = (0..GUIDE)
            .map(|b| {
                let left = b as f64 / GUIDE as f64;
                cdf.iter().take_while(|&&c| c <= left).count() as u16
            })
            .collect();
        Ok(Self::Table(cdf, guide))
    }

    /// Draw one count.
    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> f64 {
        match self {
            Self::Table(cdf, guide) => {
                let u: f64 = rng.random();
                // u in [0, 1): its bucket's left end is <= u, so every
                // entry counted there is <= u too; scan on from it.
                let mut k = usize::from(guide[(u * GUIDE as f64) as usize]);
                while k < cdf.len() && u >= cdf[k] {
                    k += 1;
                }
                k as f64
            }
            Self::Sampler(poisson) => poisson.sample(rng),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng;

    #[test]
    fn guide_table_gives_the_count_of_a_full_scan() {
        for mean in [0.05, 0.8, 1.6, 5.0, 29.0] {
            let sampler = PoissonCounts::new(mean).unwrap();
            let PoissonCounts::Table(cdf, _) = &sampler else {
                panic!("table expected for mean {mean}");
            };
            let mut a = rng::stream(3, &[1]);
            let mut b = a.clone();
            for _ in 0..100_000 {
                let u: f64 = b.random();
                let full = cdf.iter().filter(|&&c| u >= c).count();
                let got = sampler.sample(&mut a);
                assert_eq!(got as usize, full, "mean {mean}, u {u}");
                assert_eq!(got.fract().to_bits(), 0.0f64.to_bits());
            }
        }
    }

    #[test]
    fn moments_and_zero_probability_match_poisson() {
        for mean in [0.05, 0.8, 1.6, 5.0, 29.0, 80.0] {
            let sampler = PoissonCounts::new(mean).unwrap();
            let mut rng = rng::stream(7, &[1]);
            let n = 200_000;
            let draws: Vec<f64> = (0..n).map(|_| sampler.sample(&mut rng)).collect();
            let m = draws.iter().sum::<f64>() / f64::from(n);
            let var = draws.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / f64::from(n - 1);
            // Standard error of the mean sqrt(mean/n); of the variance about
            // sqrt((2 mean^2 + mean)/n). Five standard errors each.
            let n = f64::from(n);
            assert!(
                (m - mean).abs() < 5.0 * (mean / n).sqrt(),
                "mean {mean}: {m}"
            );
            assert!(
                (var - mean).abs() < 5.0 * ((2.0 * mean * mean + mean) / n).sqrt(),
                "var {mean}: {var}"
            );
            let zeros = draws.iter().filter(|&&x| x == 0.0).count() as f64 / n;
            let p0 = (-mean).exp();
            assert!(
                (zeros - p0).abs() < 5.0 * (p0 * (1.0 - p0) / n).sqrt() + 1e-12,
                "P0 {mean}: {zeros}"
            );
        }
    }
}
