//! El generador de números aleatorios del proyecto.
//!
//! Un único tipo, con semilla y portable: la misma semilla da los mismos lotes, la misma
//! inicialización y el mismo texto generado en cualquier máquina. (El RNG de candle en la
//! CPU no admite semilla, así que nunca dependemos de él.)

use rand::SeedableRng;

// ANCHOR: seeded
/// El RNG de todo el proyecto: ChaCha8, rápido y con la misma secuencia en toda plataforma.
pub type Rng = rand_chacha::ChaCha8Rng;

/// La semilla del cuaderno original (`torch.manual_seed(1337)`).
pub const DEFAULT_SEED: u64 = 1337;
/// [`DEFAULT_SEED`] escrita, para el valor por defecto de `--semilla`.
pub const DEFAULT_SEED_TEXT: &str = "1337";

/// Crea el RNG del proyecto a partir de una semilla.
pub fn seeded(seed: u64) -> Rng {
    Rng::seed_from_u64(seed)
}
// ANCHOR_END: seeded

/// `n` muestras de una normal de media `mean` y desviación `std`, en `f32`: la inicialización
/// de pesos (`nn.init.normal_`) sin depender del RNG de candle.
pub fn normal_vec(rng: &mut Rng, n: usize, mean: f32, std: f32) -> Vec<f32> {
    use rand::Rng as _;
    let dist = rand_distr::Normal::new(mean, std).expect("desviación típica finita y no negativa");
    (0..n).map(|_| rng.sample(dist)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_text_is_the_seed() {
        assert_eq!(DEFAULT_SEED_TEXT.parse::<u64>(), Ok(DEFAULT_SEED));
    }

    #[test]
    fn normal_samples_are_reproducible_and_well_scaled() {
        let a = normal_vec(&mut seeded(3), 20_000, 0.0, 0.02);
        let b = normal_vec(&mut seeded(3), 20_000, 0.0, 0.02);
        assert_eq!(a, b);
        let mean = a.iter().sum::<f32>() / a.len() as f32;
        let var = a.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / a.len() as f32;
        assert!(mean.abs() < 1e-3, "media {mean}");
        assert!(
            (var.sqrt() - 0.02).abs() < 1e-3,
            "desviación {}",
            var.sqrt()
        );
    }
}
