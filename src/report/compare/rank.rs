//! The Mann-Whitney U test (the Wilcoxon rank-sum test): whether one set of samples tends to lie
//! above the other, assuming nothing about how either is distributed. Two-sided, by the normal
//! approximation with the correction for ties and for continuity, which holds from about five
//! samples a side.

use std::cmp::Ordering;

/// What the test found for samples `a` against samples `b`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankTest {
    /// U of `a`: the pairs (x of `a`, y of `b`) with x > y, a tie counting half.
    pub u: f64,
    /// Samples of `a`.
    pub n_a: usize,
    /// Samples of `b`.
    pub n_b: usize,
    /// Two-sided p-value: how often a U at least this far from its middle would come by chance
    /// if `a` and `b` were drawn from one distribution.
    pub p: f64,
}

impl RankTest {
    /// Which way `b` leans against `a`: `Greater` when its samples tend to be the larger.
    pub fn b_against_a(&self) -> Ordering {
        let middle = self.n_a as f64 * self.n_b as f64 / 2.0;
        middle.total_cmp(&self.u)
    }
}

/// The test of `a` against `b`; `None` when either is empty.
pub fn mann_whitney(a: &[f64], b: &[f64]) -> Option<RankTest> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let mut all: Vec<(f64, bool)> = (a.iter().map(|&x| (x, true)))
        .chain(b.iter().map(|&y| (y, false)))
        .collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    // Ranks from 1; tied samples share the mean of their ranks.
    let (mut rank_sum_a, mut ties) = (0.0, 0.0);
    let mut i = 0;
    while i < all.len() {
        let run = all[i..].iter().take_while(|x| x.0 == all[i].0).count();
        let mean_rank = i as f64 + (run as f64 + 1.0) / 2.0;
        let of_a = all[i..i + run].iter().filter(|x| x.1).count();
        rank_sum_a += mean_rank * of_a as f64;
        ties += (run as f64).powi(3) - run as f64;
        i += run;
    }
    let (n_a, n_b) = (a.len() as f64, b.len() as f64);
    let n = n_a + n_b;
    let u = rank_sum_a - n_a * (n_a + 1.0) / 2.0;
    let variance = n_a * n_b / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    let p = if variance > 0.0 {
        let distance = ((u - n_a * n_b / 2.0).abs() - 0.5).max(0.0);
        erfc(distance / variance.sqrt() / std::f64::consts::SQRT_2).min(1.0)
    } else {
        // Every sample the same value: nothing tells the two apart.
        1.0
    };
    Some(RankTest {
        u,
        n_a: a.len(),
        n_b: b.len(),
        p,
    })
}

/// The complementary error function, `1 - erf(x)`, to a relative error below 1.2e-7 (the
/// Chebyshev fit of Numerical Recipes' `erfcc`). A two-sided normal p-value is `erfc(z/√2)`.
fn erfc(x: f64) -> f64 {
    const C: [f64; 10] = [
        -1.265_512_23,
        1.000_023_68,
        0.374_091_96,
        0.096_784_18,
        -0.186_288_06,
        0.278_868_07,
        -1.135_203_98,
        1.488_515_87,
        -0.822_152_23,
        0.170_872_77,
    ];
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = C.iter().rev().fold(0.0, |acc, c| c + t * acc);
    let r = t * (-z * z + poly).exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erfc_matches_known_values() {
        // erfc(0) = 1; erfc(1) = 0.157299207; erfc(1.959964/√2) = 0.05.
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-7);
        assert!((erfc(1.959_964 / std::f64::consts::SQRT_2) - 0.05).abs() < 1e-6);
        assert!((erfc(-1.0) - 1.842_700_793).abs() < 1e-7);
    }

    #[test]
    fn u_counts_the_pairs_the_tortoise_and_the_hare() {
        // The finishing places of the textbook race: the tortoise's U is 25, the hare's 11.
        let tortoise = [1.0, 7.0, 8.0, 9.0, 10.0, 11.0];
        let hare = [2.0, 3.0, 4.0, 5.0, 6.0, 12.0];
        let t = mann_whitney(&tortoise, &hare).unwrap();
        assert_eq!(t.u, 25.0);
        assert_eq!(mann_whitney(&hare, &tortoise).unwrap().u, 11.0);
        assert!((t.p - mann_whitney(&hare, &tortoise).unwrap().p).abs() < 1e-12);
    }

    /// Ten samples against ten whose U (pairs of `b` above `a`) is `u`: seven below every
    /// sample of `a`, two above them all, and one above `u - 20` of them.
    fn ten_against_ten(u: usize) -> (Vec<f64>, Vec<f64>) {
        let a: Vec<f64> = (10..20).map(f64::from).collect();
        let mut b: Vec<f64> = (0..7).map(f64::from).collect();
        b.extend([9.5 + (u - 20) as f64, 100.0, 101.0]);
        (a, b)
    }

    #[test]
    fn the_tables_critical_values_sit_at_five_percent() {
        // Mann-Whitney tables, two-sided alpha 0.05: n = 10 + 10 is significant at U <= 23,
        // n = 20 + 20 at U <= 127. The normal approximation agrees on both sides of each.
        let p = |(a, b): (Vec<f64>, Vec<f64>)| mann_whitney(&a, &b).unwrap().p;
        let (p23, p24) = (p(ten_against_ten(23)), p(ten_against_ten(24)));
        assert!((p23 - 0.0451).abs() < 5e-4 && p24 > 0.05, "{p23} {p24}");
        let twenty = |u: usize| {
            let a: Vec<f64> = (100..120).map(f64::from).collect();
            // 13 below every a, 6 above them all (120 pairs), one above u - 120 of them.
            let mut b: Vec<f64> = (0..13).map(f64::from).collect();
            b.extend((0..6).map(|i| 500.0 + f64::from(i)));
            b.push(99.5 + (u - 120) as f64);
            let t = mann_whitney(&a, &b).unwrap();
            assert_eq!(t.n_a * t.n_b - t.u as usize, u);
            t.p
        };
        assert!(twenty(127) < 0.05 && twenty(128) > 0.05);
        assert!((twenty(127) - 0.0499).abs() < 5e-4);
    }

    #[test]
    fn identical_samples_give_p_one() {
        let a = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
        let t = mann_whitney(&a, &a).unwrap();
        assert!((t.p - 1.0).abs() < 1e-9, "{t:?}");
        assert_eq!(t.b_against_a(), Ordering::Equal);
        let flat = mann_whitney(&[7.0; 6], &[7.0; 6]).unwrap();
        assert_eq!(flat.p, 1.0);
    }

    #[test]
    fn shifted_samples_give_a_small_p_and_say_which_way() {
        let a: Vec<f64> = (0..18).map(|i| 100.0 + f64::from(i % 7)).collect();
        let b: Vec<f64> = a.iter().map(|x| x + 20.0).collect();
        let t = mann_whitney(&a, &b).unwrap();
        assert!(t.p < 1e-5, "{t:?}");
        assert_eq!(t.b_against_a(), Ordering::Greater);
        assert_eq!(mann_whitney(&b, &a).unwrap().b_against_a(), Ordering::Less);
        // Interleaved: no lean either way.
        let c: Vec<f64> = a.iter().map(|x| x + 0.5).collect();
        assert!(mann_whitney(&a, &c).unwrap().p > 0.3);
    }
}
