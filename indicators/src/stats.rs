//! Quartiles and Tukey's fences, computed exactly as cardinal computes them.
//!
//! Cardinal takes quantiles with the median-unbiased estimator (Hyndman and Fan's type 8, as
//! `statrs` implements it): for `n` values sorted ascending and a probability `p`, the rank is
//! `h = (n + 1/3) p + 1/3`, and the quantile interpolates between the values at ranks ⌊h⌋ and
//! ⌊h⌋ + 1 (1-based), clamped to the smallest and largest value. Results must agree with
//! cardinal's to the last bit, so the fences use the same fused multiply-add.

/// The `p`-quantile (`0 ≤ p ≤ 1`) of `values`; NaN when there are none.
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    let n = sorted.len() as f64;
    let h = (n + 1.0 / 3.0) * p + 1.0 / 3.0;
    let rank = h as i64;
    if rank <= 0 || p == 0.0 {
        return sorted[0];
    }
    if rank >= sorted.len() as i64 || p == 1.0 {
        return sorted[sorted.len() - 1];
    }
    let below = sorted[rank as usize - 1];
    let above = sorted[rank as usize];
    below + (h - rank as f64) * (above - below)
}

/// Values sorted for quantiles.
pub struct Sample(Vec<f64>);

impl Sample {
    pub fn new(mut values: Vec<f64>) -> Self {
        values.sort_unstable_by(f64::total_cmp);
        Sample(values)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn q1(&self) -> f64 {
        quantile(&self.0, 0.25)
    }

    pub fn q3(&self) -> f64 {
        quantile(&self.0, 0.75)
    }

    /// The `percent`-th percentile.
    pub fn percentile(&self, percent: usize) -> f64 {
        quantile(&self.0, percent as f64 / 100.0)
    }
}

/// `q1 - 1.5 IQR`: values at or below it are low outliers.
pub fn lower_fence(q1: f64, q3: f64) -> f64 {
    (q3 - q1).mul_add(-1.5, q1)
}

/// `q3 + 1.5 IQR`: values at or above it are high outliers.
pub fn upper_fence(q1: f64, q3: f64) -> f64 {
    (q3 - q1).mul_add(1.5, q3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_8_quantiles_of_small_samples() {
        let s = Sample::new(vec![4.0, 1.0, 3.0, 2.0]);
        // n = 4: h(0.25) = 4.333/4 + 1/3 = 1.4167 → 1 + 0.4167 (2 - 1).
        assert!((s.q1() - 1.416_666_666_666_666_7).abs() < 1e-12);
        assert!((s.q3() - 3.583_333_333_333_333).abs() < 1e-12);
        assert_eq!(Sample::new(vec![5.0]).q1(), 5.0);
        assert!(Sample::new(vec![]).q3().is_nan());
        assert_eq!(s.percentile(100), 4.0);
        assert_eq!(s.percentile(0), 1.0);
    }

    #[test]
    fn fences() {
        assert_eq!(upper_fence(0.0, 0.2), 0.5);
        assert!((lower_fence(0.05, 0.07) - 0.02).abs() < 1e-12);
    }
}
