//! Del vector de logits al siguiente carácter: softmax, temperatura, top-k y el sorteo. Una
//! sola versión para los tres modelos que generan texto (el bigram del capítulo 5, el modelo
//! de una cabeza del 6 y el GPT del 7).
//!
//! Las funciones valen para `f32` y para `f64`: el bigram y la cabeza sortean en `f32`, el GPT
//! en `f64` (sus probabilidades, y el número uniforme que las recorre).

use num_traits::Float;
use rand::Rng as _;
use rand::distr::{Distribution, StandardUniform};

use crate::tools::rng::Rng;

// ANCHOR: softmax
/// Softmax numéricamente estable: `exp(zᵢ − max) / Σⱼ exp(zⱼ − max)`.
pub fn softmax<F: Float>(logits: &[F]) -> Vec<F> {
    let max = logits.iter().fold(F::neg_infinity(), |m, &v| m.max(v));
    let exps: Vec<F> = logits.iter().map(|&v| (v - max).exp()).collect();
    let sum = exps.iter().fold(F::zero(), |s, &e| s + e);
    exps.into_iter().map(|e| e / sum).collect()
}
// ANCHOR_END: softmax

// ANCHOR: sample
/// Elige un índice con probabilidad `probs[i]` (`torch.multinomial` con una muestra).
pub fn sample<F: Float>(probs: &[F], rng: &mut Rng) -> usize
where
    StandardUniform: Distribution<F>,
{
    sample_with(probs, rng.random())
}

/// El corazón del muestreo: dado un número uniforme `u` en `[0, 1)`, recorre la suma
/// acumulada de las probabilidades y devuelve el primer índice en que la supera.
pub fn sample_with<F: Float>(probs: &[F], u: F) -> usize {
    let mut acc = F::zero();
    for (i, &p) in probs.iter().enumerate() {
        acc = acc + p;
        if u < acc {
            return i;
        }
    }
    // Por redondeo la suma puede quedar algo por debajo de 1: el último con probabilidad.
    probs.iter().rposition(|&p| p > F::zero()).unwrap_or(0)
}
// ANCHOR_END: sample

/// Cómo elegir el siguiente carácter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// Divide los logits: < 1 más conservador, > 1 más aventurado.
    pub temperature: f32,
    /// Si se indica, solo se sortea entre los `k` caracteres más probables.
    pub top_k: Option<usize>,
}

impl Default for Sampling {
    /// Lo que hace el cuaderno: temperatura 1 y todos los caracteres.
    fn default() -> Self {
        Self {
            temperature: 1.0,
            top_k: None,
        }
    }
}

// ANCHOR: top_k
/// Deja los `k` logits más altos y pone `-∞` al resto (los empates con el `k`-ésimo se
/// quedan, como en nanoGPT). Con `k ≥ len` no cambia nada.
pub fn top_k_filter(logits: &[f32], k: usize) -> Vec<f32> {
    if k == 0 || k >= logits.len() {
        return logits.to_vec();
    }
    let mut sorted = logits.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let kth = sorted[k - 1];
    logits
        .iter()
        .map(|&l| if l < kth { f32::NEG_INFINITY } else { l })
        .collect()
}
// ANCHOR_END: top_k

// ANCHOR: choose_next
/// Elige el siguiente token: divide los logits por la temperatura, se queda con los `k`
/// mejores si se pide, y sortea según la softmax (en `f64`). Con una temperatura tan pequeña
/// que la división se desborda (`1e-38`), la softmax sería NaN: en el límite, elegir con
/// temperatura → 0 es quedarse con el más probable, y eso se hace.
pub fn choose_next(logits: &[f32], sampling: Sampling, rng: &mut Rng) -> u32 {
    let scaled: Vec<f32> = logits.iter().map(|l| l / sampling.temperature).collect();
    if scaled
        .iter()
        .zip(logits)
        .any(|(s, l)| s.is_infinite() && l.is_finite())
    {
        return argmax(logits) as u32;
    }
    let filtered = match sampling.top_k {
        Some(k) => top_k_filter(&scaled, k),
        None => scaled,
    };
    let wide: Vec<f64> = filtered.iter().map(|&l| f64::from(l)).collect();
    sample(&softmax(&wide), rng) as u32
}

/// El índice del mayor valor (el primero, si hay empates).
fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}
// ANCHOR_END: choose_next

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::rng;

    #[test]
    fn softmax_is_a_stable_distribution() {
        let p = softmax(&[1000.0f32, 1000.0, f32::NEG_INFINITY]);
        assert_eq!(p, vec![0.5, 0.5, 0.0]);
        let q = softmax(&[0.0f64, 3f64.ln()]);
        assert!((q[1] - 0.75).abs() < 1e-12, "{q:?}");
    }

    #[test]
    fn sampling_follows_the_probabilities() {
        let probs = softmax(&[0.0f64, 3f64.ln(), f64::NEG_INFINITY]);
        assert!((probs[1] - 0.75).abs() < 1e-6 && probs[2] == 0.0);
        let mut r = rng::seeded(9);
        let mut counts = [0usize; 3];
        for _ in 0..20_000 {
            counts[sample(&probs, &mut r)] += 1;
        }
        assert_eq!(counts[2], 0);
        let frac = counts[1] as f64 / 20_000.0;
        assert!((frac - 0.75).abs() < 0.02, "{frac}");
    }

    /// Si la suma acumulada no llega a `u` (redondeo), se elige el último índice con
    /// probabilidad, nunca uno de probabilidad cero (antes, el muestreo del capítulo 6
    /// devolvía el último índice, aunque su probabilidad fuera 0).
    #[test]
    fn the_fallback_never_picks_a_zero_probability() {
        assert_eq!(sample_with(&[0.3f32, 0.3, 0.0, 0.0], 0.9), 1);
        assert_eq!(sample_with(&[0.0f64, 0.0], 0.5), 0);
        assert_eq!(sample_with(&[0.2f32, 0.0, 0.8], 0.1), 0);
        assert_eq!(sample_with(&[0.2f32, 0.0, 0.8], 0.2), 2);
    }

    #[test]
    fn top_k_keeps_the_largest_and_ties() {
        assert_eq!(
            top_k_filter(&[1.0, 3.0, 2.0, 3.0], 1),
            vec![f32::NEG_INFINITY, 3.0, f32::NEG_INFINITY, 3.0]
        );
        assert_eq!(
            top_k_filter(&[1.0, 3.0, 2.0], 2),
            vec![f32::NEG_INFINITY, 3.0, 2.0]
        );
        assert_eq!(top_k_filter(&[1.0, 3.0], 5), vec![1.0, 3.0]);
    }

    /// Con top-k = 1 siempre sale el más probable; con temperatura baja, casi siempre.
    #[test]
    fn temperature_and_top_k_sharpen_the_choice() {
        let logits = [0.0f32, 1.0, 0.5];
        let mut r = rng::seeded(4);
        let greedy = Sampling {
            temperature: 1.0,
            top_k: Some(1),
        };
        assert!((0..200).all(|_| choose_next(&logits, greedy, &mut r) == 1));
        let cold = Sampling {
            temperature: 0.05,
            top_k: None,
        };
        let ones = (0..200)
            .filter(|_| choose_next(&logits, cold, &mut r) == 1)
            .count();
        assert!(ones >= 195, "{ones}");
        // Una temperatura diminuta no da NaN: es la elección voraz.
        for t in [1e-38, 1e-45, f32::MIN_POSITIVE] {
            let frozen = Sampling {
                temperature: t,
                top_k: None,
            };
            assert!((0..20).all(|_| choose_next(&[-3.0, 2.0, 1.5, 1.9], frozen, &mut r) == 1));
            assert!((0..20).all(|_| choose_next(&[-3.0, -2.0, -9.5], frozen, &mut r) == 1));
        }
    }
}
