//! El texto como tensor de identificadores, y su división en entrenamiento y validación.

use ndarray::{Array1, ArrayView1};

use crate::text::tokenizer::{Tokenizer, TokenizerError};

/// Fracción del texto que se usa para entrenar; el resto, para validar.
pub const TRAIN_FRACTION: f64 = 0.9;

/// Qué parte del texto usar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Val,
}

// ANCHOR: encode_text
/// Codifica todo el texto como un tensor 1-D de `u32` (`torch.tensor(encode(text))`).
pub fn encode_text(tokenizer: &Tokenizer, text: &str) -> Result<Array1<u32>, TokenizerError> {
    tokenizer.encode(text).map(Array1::from)
}
// ANCHOR_END: encode_text

// ANCHOR: split_point
/// Dónde cortar: `int(0.9 * len)` en Python, es decir, truncando hacia abajo.
pub fn split_point(len: usize, train_fraction: f64) -> usize {
    (train_fraction * len as f64) as usize
}
// ANCHOR_END: split_point

/// Cuántas veces aparece cada token: el histograma de los identificadores.
pub fn token_counts(ids: ArrayView1<u32>, vocab_size: usize) -> Vec<usize> {
    let mut counts = vec![0; vocab_size];
    for &id in ids {
        counts[id as usize] += 1;
    }
    counts
}

/// Los datos de entrenamiento y de validación.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub train: Array1<u32>,
    pub val: Array1<u32>,
}

/// El texto es demasiado corto para formar ejemplos del tamaño pedido.
#[derive(Debug, thiserror::Error)]
#[error(
    "la parte de {part} tiene {} tokens y hacen falta al menos {} para un bloque de {}; usa un corpus más largo o un --bloque menor",
    crate::tools::pretty::integer(len),
    crate::tools::pretty::integer(*block_size as u128 + 1),
    crate::tools::pretty::integer(block_size)
)]
pub struct TooShort {
    part: &'static str,
    len: usize,
    block_size: usize,
}

impl Dataset {
    // ANCHOR: split
    /// Los primeros `train_fraction` tokens para entrenar, el resto para validar.
    pub fn split(data: &Array1<u32>, train_fraction: f64) -> Self {
        let n = split_point(data.len(), train_fraction);
        Self {
            train: data.slice(ndarray::s![..n]).to_owned(),
            val: data.slice(ndarray::s![n..]).to_owned(),
        }
    }
    // ANCHOR_END: split

    /// La parte pedida.
    pub fn get(&self, split: Split) -> ArrayView1<'_, u32> {
        match split {
            Split::Train => self.train.view(),
            Split::Val => self.val.view(),
        }
    }

    /// Comprueba que ambas partes alcanzan para bloques de `block_size` tokens (más el objetivo).
    pub fn check_block_size(&self, block_size: usize) -> Result<(), TooShort> {
        for (part, data) in [("entrenamiento", &self.train), ("validación", &self.val)] {
            if data.len() <= block_size {
                return Err(TooShort {
                    part,
                    len: data.len(),
                    block_size,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_truncates_like_python() {
        assert_eq!(split_point(1038397, 0.9), 934557);
        assert_eq!(split_point(10, 0.9), 9);
        assert_eq!(split_point(0, 0.9), 0);
        let data = Array1::from((0..10).collect::<Vec<u32>>());
        let ds = Dataset::split(&data, 0.9);
        assert_eq!(ds.train.to_vec(), (0..9).collect::<Vec<_>>());
        assert_eq!(ds.val.to_vec(), vec![9]);
    }

    #[test]
    fn short_parts_are_reported() {
        let data = Array1::from((0..20).collect::<Vec<u32>>());
        let ds = Dataset::split(&data, 0.9);
        assert!(ds.check_block_size(1).is_ok());
        let err = ds.check_block_size(2).unwrap_err().to_string();
        assert!(err.contains("validación tiene 2 tokens"), "{err}");
        // Un bloque absurdo (`--bloque 18446744073709551615`) se explica, sin desbordarse.
        let err = ds.check_block_size(usize::MAX).unwrap_err().to_string();
        assert!(
            err.contains(
                "al menos 18\u{202F}446\u{202F}744\u{202F}073\u{202F}709\u{202F}551\u{202F}616"
            ),
            "{err}"
        );
    }

    #[test]
    fn counts_add_up() {
        let ids = Array1::from(vec![0u32, 2, 2, 1, 2]);
        assert_eq!(token_counts(ids.view(), 4), vec![1, 1, 3, 0]);
    }
}
