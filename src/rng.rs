//! El generador de números aleatorios del proyecto.
//!
//! Un único tipo, con semilla y portable: la misma semilla da los mismos lotes, la misma
//! inicialización y el mismo texto generado en cualquier máquina. (El RNG de candle en la
//! CPU no admite semilla, así que nunca dependemos de él.)

use rand::SeedableRng;

/// El RNG de todo el proyecto: ChaCha8, rápido y con la misma secuencia en toda plataforma.
pub type Rng = rand_chacha::ChaCha8Rng;

/// La semilla del cuaderno original (`torch.manual_seed(1337)`).
pub const DEFAULT_SEED: u64 = 1337;

/// Crea el RNG del proyecto a partir de una semilla.
pub fn seeded(seed: u64) -> Rng {
    Rng::seed_from_u64(seed)
}
