//! Del vector de logits al siguiente carácter: softmax, temperatura, top-k, top-p y el sorteo. Una
//! sola versión para los tres modelos que generan texto (el bigrama del capítulo 5, el modelo
//! de una cabeza del 6 y el GPT del 7).
//!
//! Las funciones valen para `f32` y para `f64`: el bigrama y la cabeza sortean en `f32`, el GPT
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
    /// Si se indica (`0 < p ≤ 1`), solo se sortea en el núcleo: los más probables cuya
    /// probabilidad sumada llega a `p` (después de la temperatura y del top-k).
    pub top_p: Option<f32>,
}

impl Default for Sampling {
    /// Lo que hace el cuaderno: temperatura 1 y todos los caracteres.
    fn default() -> Self {
        Self {
            temperature: 1.0,
            top_k: None,
            top_p: None,
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

// ANCHOR: top_p
/// Top-p (núcleo): ordena los logits de mayor a menor, acumula sus probabilidades (softmax, en
/// `f64`) hasta que la suma llega a `p`, y pone `-∞` a los que quedan por debajo del último que
/// entró (sus empates se quedan). El más probable siempre se queda; con `p ≥ 1`, todos los de
/// probabilidad no nula.
pub fn top_p_filter(logits: &[f32], p: f32) -> Vec<f32> {
    let mut sorted = logits.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let Some(&max) = sorted.first() else {
        return Vec::new();
    };
    let exps: Vec<f64> = sorted.iter().map(|&l| f64::from(l - max).exp()).collect();
    let total: f64 = exps.iter().sum();
    let mut acc = 0.0;
    let mut threshold = sorted[sorted.len() - 1];
    for (e, &l) in exps.iter().zip(&sorted) {
        acc += e / total;
        if acc >= f64::from(p) {
            threshold = l;
            break;
        }
    }
    logits
        .iter()
        .map(|&l| if l < threshold { f32::NEG_INFINITY } else { l })
        .collect()
}
// ANCHOR_END: top_p

// ANCHOR: choose_next
/// Elige el siguiente token: divide los logits por la temperatura, se queda con los `k`
/// mejores si se pide, después con el núcleo de probabilidad `p` si se pide, y sortea según la
/// softmax (en `f64`), con un número del RNG por token. Con una temperatura tan pequeña que la
/// división se desborda (`1e-38`), la softmax sería NaN: en el límite, elegir con temperatura
/// → 0 es quedarse con el más probable, y eso se hace (sin sacar ningún número del RNG).
pub fn choose_next(logits: &[f32], sampling: Sampling, rng: &mut Rng) -> u32 {
    if let Some(greedy) = frozen(logits, sampling.temperature) {
        return greedy;
    }
    let scaled: Vec<f32> = logits.iter().map(|l| l / sampling.temperature).collect();
    let filtered = filter(scaled, sampling, top_k_filter, top_p_filter);
    let wide: Vec<f64> = filtered.iter().map(|&l| f64::from(l)).collect();
    sample(&softmax(&wide), rng) as u32
}

/// Los filtros de `sampling`, en su orden (primero top-k, después top-p), sobre los logits ya
/// divididos por la temperatura, con las funciones de filtro que se den (las de la biblioteca,
/// o las de los ejercicios 7.12 y 7.13).
pub fn filter(
    scaled: Vec<f32>,
    sampling: Sampling,
    top_k: impl Fn(&[f32], usize) -> Vec<f32>,
    top_p: impl Fn(&[f32], f32) -> Vec<f32>,
) -> Vec<f32> {
    let scaled = match sampling.top_k {
        Some(k) => top_k(&scaled, k),
        None => scaled,
    };
    match sampling.top_p {
        Some(p) => top_p(&scaled, p),
        None => scaled,
    }
}

/// Con una temperatura tan pequeña que dividir un logit finito por ella se desborda, el
/// índice del más probable (la elección en el límite); si no, `None`.
pub fn frozen(logits: &[f32], temperature: f32) -> Option<u32> {
    let overflows = logits
        .iter()
        .any(|l| l.is_finite() && (l / temperature).is_infinite());
    overflows.then(|| argmax(logits) as u32)
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
            top_p: None,
        };
        assert!((0..200).all(|_| choose_next(&logits, greedy, &mut r) == 1));
        let cold = Sampling {
            temperature: 0.05,
            top_k: None,
            top_p: None,
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
                top_p: None,
            };
            assert!((0..20).all(|_| choose_next(&[-3.0, 2.0, 1.5, 1.9], frozen, &mut r) == 1));
            assert!((0..20).all(|_| choose_next(&[-3.0, -2.0, -9.5], frozen, &mut r) == 1));
        }
    }

    #[test]
    fn top_p_keeps_the_smallest_nucleus() {
        // Probabilidades 0,5, 0,3 y 0,2 (logits ln): con p = 0,7 entran los dos primeros.
        let logits = [0.5f64.ln() as f32, 0.2f64.ln() as f32, 0.3f64.ln() as f32];
        let ninf = f32::NEG_INFINITY;
        assert_eq!(top_p_filter(&logits, 0.7), vec![logits[0], ninf, logits[2]]);
        assert_eq!(top_p_filter(&logits, 0.4), vec![logits[0], ninf, ninf]);
        assert_eq!(top_p_filter(&logits, 1.0), logits.to_vec());
        // Los empates con el último que entra se quedan.
        assert_eq!(
            top_p_filter(&[1.0, 2.0, 1.0, 0.0], 0.6),
            vec![1.0, 2.0, 1.0, ninf]
        );
    }

    /// Top-p se aplica tras la temperatura: con una temperatura alta el núcleo crece. Y tras
    /// el top-k: el núcleo se calcula sobre los que quedan.
    #[test]
    fn top_p_comes_after_temperature_and_top_k() {
        let logits = [2.0f32, 1.0, 0.0];
        let mut r = rng::seeded(5);
        let picks = |sampling: Sampling, r: &mut Rng| {
            let mut seen = [false; 3];
            for _ in 0..400 {
                seen[choose_next(&logits, sampling, r) as usize] = true;
            }
            seen
        };
        let nucleus = Sampling {
            temperature: 1.0,
            top_k: None,
            top_p: Some(0.6),
        };
        // softmax([2, 1, 0]) = [0,665, 0,245, 0,090]: el primero ya llega a 0,6.
        assert_eq!(picks(nucleus, &mut r), [true, false, false]);
        let hot = Sampling {
            temperature: 4.0,
            ..nucleus
        };
        // softmax([0,5, 0,25, 0]) = [0,419, 0,327, 0,254]: hacen falta dos.
        assert_eq!(picks(hot, &mut r), [true, true, false]);
        let k2 = Sampling {
            temperature: 1.0,
            top_k: Some(2),
            top_p: Some(0.7),
        };
        // Tras el top-k quedan [2, 1]: [0,731, 0,269], y el primero ya llega a 0,7.
        assert_eq!(picks(k2, &mut r), [true, false, false]);
    }

    /// Un número del RNG por token, con top-p o sin él: el mismo RNG sigue igual después.
    #[test]
    fn top_p_draws_one_number_per_token() {
        let logits = [0.3f32, -1.0, 2.0, 0.7];
        let (mut a, mut b) = (rng::seeded(11), rng::seeded(11));
        let with = Sampling {
            top_p: Some(0.9),
            ..Sampling::default()
        };
        for _ in 0..50 {
            choose_next(&logits, with, &mut a);
            choose_next(&logits, Sampling::default(), &mut b);
        }
        assert_eq!(a.random::<u64>(), b.random::<u64>());
    }
}
